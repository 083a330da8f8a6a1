// The classifier recognises SqlClient's exception by its type name and reads Number and Class by reflection, so a
// stand-in with the same name and properties exercises that path without Microsoft.Data.SqlClient's internal ctor.
namespace Microsoft.Data.SqlClient;

internal sealed class SqlException(int number, byte severity) : System.Data.Common.DbException($"SQL Server error {number}")
{
    public int Number { get; } = number;

    public byte Class { get; } = severity;
}
