namespace Helix.Data.Internal.Execution;

/// <summary>What a command is asked to do: the three ways ADO.NET executes one.</summary>
internal enum Operation
{
    NonQuery,
    Scalar,
    Reader,
}

/// <summary>Names of the public methods behind each operation, for messages.</summary>
internal static class OperationNames
{
    public static string MethodName(this Operation operation) => operation switch
    {
        Operation.NonQuery => nameof(HelixCommand.ExecuteNonQuery),
        Operation.Scalar => nameof(HelixCommand.ExecuteScalar),
        _ => nameof(HelixCommand.ExecuteReader),
    };
}
