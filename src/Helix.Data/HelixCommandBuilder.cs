using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Helix.Data;

/// <summary>
/// Generates insert, update and delete commands for a <see cref="HelixDataAdapter"/> from its select command. Names
/// are quoted the way the primary strand's provider quotes them; parameters are named <c>@p1</c>, <c>@p2</c>, ...,
/// which Npgsql, SqlClient, SQLite and MySqlConnector all accept.
/// </summary>
public sealed class HelixCommandBuilder : DbCommandBuilder
{
    /// <summary>Initializes a new instance of the <see cref="HelixCommandBuilder"/> class.</summary>
    public HelixCommandBuilder()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixCommandBuilder"/> class for an adapter.</summary>
    /// <param name="adapter">The adapter whose commands to generate.</param>
    public HelixCommandBuilder(HelixDataAdapter adapter)
    {
        DataAdapter = adapter;
    }

    /// <summary>Gets or sets the adapter whose commands are generated.</summary>
    public new HelixDataAdapter? DataAdapter
    {
        get => (HelixDataAdapter?)base.DataAdapter;
        set => base.DataAdapter = value;
    }

    /// <summary>Gets or sets the opening quote of identifiers; by default the primary strand's provider's.</summary>
    [AllowNull]
    public override string QuotePrefix
    {
        get => string.IsNullOrEmpty(base.QuotePrefix) ? InnerBuilder()?.QuotePrefix ?? "\"" : base.QuotePrefix;
        set => base.QuotePrefix = value;
    }

    /// <summary>Gets or sets the closing quote of identifiers; by default the primary strand's provider's.</summary>
    [AllowNull]
    public override string QuoteSuffix
    {
        get => string.IsNullOrEmpty(base.QuoteSuffix) ? InnerBuilder()?.QuoteSuffix ?? "\"" : base.QuoteSuffix;
        set => base.QuoteSuffix = value;
    }

    /// <summary>Gets the generated insert command.</summary>
    /// <returns>The command.</returns>
    public new HelixCommand GetInsertCommand() => (HelixCommand)base.GetInsertCommand();

    /// <summary>Gets the generated update command.</summary>
    /// <returns>The command.</returns>
    public new HelixCommand GetUpdateCommand() => (HelixCommand)base.GetUpdateCommand();

    /// <summary>Gets the generated delete command.</summary>
    /// <returns>The command.</returns>
    public new HelixCommand GetDeleteCommand() => (HelixCommand)base.GetDeleteCommand();

    /// <inheritdoc />
    public override string QuoteIdentifier(string unquotedIdentifier)
    {
        ArgumentNullException.ThrowIfNull(unquotedIdentifier);
        return QuotePrefix + unquotedIdentifier.Replace(QuoteSuffix, QuoteSuffix + QuoteSuffix, StringComparison.Ordinal) + QuoteSuffix;
    }

    /// <inheritdoc />
    protected override void ApplyParameterInfo(DbParameter parameter, DataRow row, StatementType statementType, bool whereClause)
    {
        // Types come from the values, as the providers infer them.
    }

    /// <inheritdoc />
    protected override string GetParameterName(int parameterOrdinal) => "@p" + parameterOrdinal.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override string GetParameterName(string parameterName) => "@" + parameterName;

    /// <inheritdoc />
    protected override string GetParameterPlaceholder(int parameterOrdinal) => GetParameterName(parameterOrdinal);

    /// <inheritdoc />
    protected override void SetRowUpdatingHandler(DbDataAdapter adapter)
    {
        if (adapter is not HelixDataAdapter helix)
        {
            throw new ArgumentException($"A HelixCommandBuilder works with a HelixDataAdapter, not a {adapter?.GetType().Name ?? "null"}.", nameof(adapter));
        }

        if (adapter == base.DataAdapter)
        {
            helix.RowUpdating -= OnRowUpdating;
        }
        else
        {
            helix.RowUpdating += OnRowUpdating;
        }
    }

    /// <inheritdoc />
    protected override DbCommand InitializeCommand(DbCommand? command)
    {
        var initialized = base.InitializeCommand(command);

        // Generated commands bind original values in their WHERE clauses through SourceVersion, which not every
        // provider's parameter stores (SQLite's does not): they get provider-neutral parameters, which do.
        if (initialized is HelixCommand helix)
        {
            helix.NeutralParameters = true;
        }

        return initialized;
    }

    private void OnRowUpdating(object? sender, RowUpdatingEventArgs e) => RowUpdatingHandler(e);

    private DbCommandBuilder? InnerBuilder() =>
        DataAdapter?.SelectCommand?.Connection?.HelixDataSource?.Strands[0].Factory.CreateCommandBuilder();
}
