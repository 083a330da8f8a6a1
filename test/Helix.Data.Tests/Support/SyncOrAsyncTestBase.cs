using System.Data.Common;

namespace Helix.Data.Tests.Support;

/// <summary>A fixture that runs its tests with synchronous and with asynchronous ADO.NET calls.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public abstract class SyncOrAsyncTestBase(SyncOrAsync mode)
{
    private long _fallbacksBefore;

    protected bool IsAsync => mode == SyncOrAsync.Async;

    [SetUp]
    public void RememberBlockingFallbacks() => _fallbacksBefore = Helix.Data.Internal.SynchronousResult.BlockingFallbacks;

    /// <summary>Synchronous calls must run synchronously all the way down: none may block on asynchronous work.</summary>
    [TearDown]
    public void NoSynchronousCallBlockedOnAsynchronousWork()
    {
        if (!IsAsync)
        {
            Assert.That(Helix.Data.Internal.SynchronousResult.BlockingFallbacks, Is.EqualTo(_fallbacksBefore), "a synchronous call went asynchronous somewhere");
        }
    }

    protected async Task<int> ExecuteNonQueryAsync(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        return IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
    }

    protected async Task<object?> ExecuteScalarAsync(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        return IsAsync ? await command.ExecuteScalarAsync() : command.ExecuteScalar();
    }

    /// <summary>Runs a query and returns the first column of every row, and which strand served it.</summary>
    protected async Task<(List<object> Values, HelixStrand Strand)> QueryAsync(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        await using var reader = (HelixDataReader)(IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader());
        var values = new List<object>();
        while (IsAsync ? await reader.ReadAsync() : reader.Read())
        {
            values.Add(reader.GetValue(0));
        }

        return (values, reader.Strand);
    }

    protected async Task<HelixConnection> OpenAsync(HelixDataSource dataSource) =>
        IsAsync ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection();

    private static DbCommand Command(DbConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
