using System.Reflection;
using System.Runtime.Loader;

namespace Helix.Data.Benchmarks;

/// <summary>
/// One side of a read comparison (the plain provider's or Helix.Data's) in an assembly load context of its own: its own
/// copies of this assembly, Dapper, Helix.Data and the ADO.NET provider, so that their code, call-site caches and
/// profile-guided optimizations see only that side's types, as they do in an application that uses one of them.
/// </summary>
/// <remarks>
/// When both sides run through the same copy of Dapper, each of Dapper's calls on a connection, command or reader sees
/// two types: the runtime's interface dispatch turns polymorphic, and the tiered JIT devirtualizes those calls for
/// whichever type its profile happened to favour, making that side faster at the other's expense.
/// </remarks>
internal sealed class IsolatedSide : IDisposable
{
    private readonly Action _cleanup;

    /// <summary>Loads the side, creates and seeds its databases, and reads the seeded row through it once.</summary>
    /// <param name="provider">The provider, as the benchmarks name it.</param>
    /// <param name="helix">Whether the side is Helix.Data's.</param>
    public IsolatedSide(string provider, bool helix)
    {
        // Not collectible: the context lives as long as the process, as an application's would.
        var context = new Context(typeof(IsolatedSide).Assembly.Location, helix ? "Helix side" : "plain side");
        var assembly = context.LoadFromAssemblyPath(typeof(IsolatedSide).Assembly.Location);
        var type = assembly.GetType(typeof(ReadBenchmarks).FullName!, throwOnError: true)!;
        var reads = Activator.CreateInstance(type)!;
        type.GetProperty(nameof(ReadBenchmarks.Provider))!.SetValue(reads, provider);
        type.GetMethod(nameof(ReadBenchmarks.SetupOneSide), BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(reads, [helix]);
        Sync = type.GetMethod(helix ? nameof(ReadBenchmarks.HelixSync) : nameof(ReadBenchmarks.PlainSync))!.CreateDelegate<Func<object>>(reads);
        Async = type.GetMethod(helix ? nameof(ReadBenchmarks.HelixAsync) : nameof(ReadBenchmarks.PlainAsync))!.CreateDelegate<Func<Task>>(reads);
        _cleanup = type.GetMethod(nameof(ReadBenchmarks.Cleanup))!.CreateDelegate<Action>(reads);
    }

    /// <summary>Gets the side's synchronous read.</summary>
    public Func<object> Sync { get; }

    /// <summary>Gets the side's asynchronous read.</summary>
    public Func<Task> Async { get; }

    /// <inheritdoc />
    public void Dispose() => _cleanup();

    /// <summary>Resolves the benchmark's dependencies from its own output folder into this context; the framework is shared.</summary>
    private sealed class Context(string mainAssembly, string name) : AssemblyLoadContext(name)
    {
        private readonly AssemblyDependencyResolver _resolver = new(mainAssembly);

        protected override Assembly? Load(AssemblyName assemblyName) =>
            _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
