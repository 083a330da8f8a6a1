using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;
using System.Transactions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Keeps EF Core from enlisting its provider's connection object in an ambient <c>System.Transactions</c> transaction (a
/// <c>TransactionScope</c>), and enlists the context's <see cref="HelixConnection"/> instead, which runs the scope as one
/// Helix transaction on both strands (contract section 8).
/// </summary>
/// <remarks>
/// EF's <see cref="RelationalConnection"/> enlists its connection object itself once it is open in a scope
/// (<c>HandleAmbientTransactions</c>, and <c>Database.EnlistTransaction</c>), through one template method,
/// <c>ConnectionEnlistTransaction</c>, which providers do not override. Left to it, the object (one strand's native
/// connection) would be a second resource beside Helix's, and the scope's commit a two-phase one that PostgreSQL refuses:
/// the scope aborts after a <c>SaveChanges</c> that succeeded. EF has no option to turn that off and its providers' connection
/// services are provider types (Npgsql's also serve as <c>INpgsqlRelationalConnection</c>), so the provider's own class is
/// extended at run time, once per class, by a subclass that overrides only that method: it hands the transaction to
/// <see cref="Enlist"/>, and falls back to the provider's own when the connection has no Helix session. The subclass
/// replaces the provider's class in the context's services (EF's <c>ReplaceService</c>, by the service type the provider
/// registers it under), so everything else the provider does with its connection service stays its own.
/// </remarks>
internal static class AmbientEnlisting
{
    private const string EnlistMethod = "ConnectionEnlistTransaction";
    private const string HookField = "Enlist";

    // Per provider options extension type: the service to replace and its subclass, or null when there is none to extend.
    // Lazy: contexts configured at once on several threads must not emit the same type twice (a duplicate type name).
    private static readonly ConcurrentDictionary<Type, Lazy<(Type Service, Type Implementation, Type Subclass)?>> Replacements = new();

    // Made on first use: where code cannot be emitted (Native AOT), nothing here runs, and contexts refuse scopes.
    private static readonly Lazy<ModuleBuilder> Module = new(() => AssemblyBuilder
        .DefineDynamicAssembly(new AssemblyName("Helix.Data.EntityFrameworkCore.AmbientEnlisting"), AssemblyBuilderAccess.Run)
        .DefineDynamicModule("AmbientEnlisting"));

    /// <summary>
    /// Makes the context's connection service the subclass of its provider's that enlists the Helix connection. Where the
    /// provider's connection service cannot be extended (a sealed class, or no code can be emitted: Native AOT) nothing
    /// changes, and the context refuses scopes as it opens (<see cref="Routes"/>).
    /// </summary>
    public static void Replace(DbContextOptionsBuilder builder)
    {
        if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported
            && builder.Options.Extensions.OfType<RelationalOptionsExtension>().FirstOrDefault() is { } provider
            && Replacements.GetOrAdd(provider.GetType(), static (_, p) => new(() => Discover(p)), provider).Value is { } found)
        {
            var core = builder.Options.FindExtension<CoreOptionsExtension>() ?? new CoreOptionsExtension();
            ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(core.WithReplacedService(found.Service, found.Subclass, found.Implementation));
        }
    }

    /// <summary>Whether a context's connection service enlists its Helix connection (it is one of the subclasses made here).</summary>
    public static bool Routes(IRelationalConnection connection) =>
        Replacements.Values.Any(r => r.IsValueCreated && r.Value?.Subclass == connection.GetType()); // one entry per provider

    /// <summary>
    /// The provider's registration of its connection service (the service type under which it registers its
    /// <see cref="RelationalConnection"/> class), with the subclass of that class; <see langword="null"/> when the class is sealed.
    /// </summary>
    private static (Type Service, Type Implementation, Type Subclass)? Discover(RelationalOptionsExtension provider) =>
        ProviderServices.Serving(provider, typeof(RelationalConnection)) is { ImplementationType: { IsSealed: false, IsAbstract: false } implementation } registration
            ? (registration.ServiceType, implementation, Subclass(implementation))
            : null;

    /// <summary>
    /// A subclass of <paramref name="provider"/> with its public constructors, whose <c>ConnectionEnlistTransaction</c>
    /// calls <see cref="Enlist"/> and, when that does not take the transaction, the provider's own.
    /// </summary>
    private static Type Subclass(Type provider)
    {
        var type = Module.Value.DefineType("Helix.Enlisting." + provider.FullName, TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, provider);
        foreach (var constructor in provider.GetConstructors())
        {
            var parameters = constructor.GetParameters().Select(p => p.ParameterType).ToArray();
            var il = type.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, parameters).GetILGenerator();
            for (short i = 0; i <= parameters.Length; i++)
            {
                il.Emit(OpCodes.Ldarg, i);
            }

            il.Emit(OpCodes.Call, constructor);
            il.Emit(OpCodes.Ret);
        }

        var own = provider.GetMethod(EnlistMethod, BindingFlags.Instance | BindingFlags.NonPublic, [typeof(Transaction)])
            ?? throw new InvalidOperationException($"EF Core's RelationalConnection has no {EnlistMethod}(Transaction) to override.");
        // The emitted code calls Enlist through a delegate in a public static field of its own: it lives in an assembly of its
        // own, which may not call this internal type's methods directly.
        var hook = type.DefineField(HookField, typeof(Func<RelationalConnection, Transaction?, bool>), FieldAttributes.Public | FieldAttributes.Static);
        var method = type.DefineMethod(EnlistMethod, MethodAttributes.Family | MethodAttributes.Virtual | MethodAttributes.HideBySig, typeof(void), [typeof(Transaction)]);
        var body = method.GetILGenerator();
        var done = body.DefineLabel();
        body.Emit(OpCodes.Ldsfld, hook);
        body.Emit(OpCodes.Ldarg_0);
        body.Emit(OpCodes.Ldarg_1);
        body.Emit(OpCodes.Callvirt, typeof(Func<RelationalConnection, Transaction?, bool>).GetMethod("Invoke")!);
        body.Emit(OpCodes.Brtrue_S, done);
        body.Emit(OpCodes.Ldarg_0);
        body.Emit(OpCodes.Ldarg_1);
        body.Emit(OpCodes.Call, own);
        body.MarkLabel(done);
        body.Emit(OpCodes.Ret);
        var subclass = type.CreateType();
        subclass.GetField(HookField)!.SetValue(null, new Func<RelationalConnection, Transaction?, bool>(Enlist));
        return subclass;
    }

    /// <summary>
    /// Enlists the Helix connection of <paramref name="connection"/>'s session in <paramref name="transaction"/> in place of
    /// EF's connection object (which stops serving the session's commands); <see langword="false"/> when EF's connection
    /// object has no session (not the context's own connection), for the provider to enlist as without Helix.
    /// </summary>
    private static bool Enlist(RelationalConnection connection, Transaction? transaction)
    {
        if (EfSessions.Existing(connection.DbConnection) is not { } session)
        {
            return false;
        }

        session.Enlist(connection.DbConnection, transaction);
        return true;
    }
}
