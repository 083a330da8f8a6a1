namespace Helix.Data.Internal.Execution;

/// <summary>What a savepoint call of a transaction does on each strand.</summary>
internal enum SavepointOperation
{
    Save,
    Rollback,
    Release,
}
