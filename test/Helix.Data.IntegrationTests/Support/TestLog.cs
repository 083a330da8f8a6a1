using Microsoft.Extensions.Logging;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>Writes Helix's warnings and errors to the test output, so a failing test shows what Helix saw.</summary>
public sealed class TestLog : ILoggerProvider, ILogger
{
    private readonly TextWriter _output = TestContext.Out;

    public static ILoggerFactory Factory(LogLevel minimum = LogLevel.Warning) => LoggerFactory.Create(b => b.AddProvider(new TestLog()).SetMinimumLevel(minimum));

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_output)
        {
            _output.WriteLine($"[{logLevel} {eventId.Id}] {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.Message)}");
        }
    }

    public void Dispose()
    {
    }
}
