using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Helix.Data.Logging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// One <c>UseHelix</c>: the data source, the interceptors that route a context's connection, commands and transactions
/// to its strands, and the sessions of the connections they route. Only the context's own connection is routed (the
/// one <c>Database.GetDbConnection()</c> returns); a provider's other connections (Npgsql's admin connection that creates
/// a database) run as EF makes them.
/// </summary>
internal sealed class HelixRouter
{
    private readonly GeneratedValueCheck _check;

    private HelixRouter(HelixDataSource dataSource, HelixEntityFrameworkOptions options)
    {
        DataSource = dataSource;
        SavesInTransaction = options.SaveChangesInTransaction;
        _check = new GeneratedValueCheck(options);
        Connections = new HelixConnectionInterceptor(this);
        Commands = new HelixCommandInterceptor();
        Transactions = new HelixTransactionInterceptor();
        SaveChanges = new HelixSaveChangesInterceptor(this);
    }

    public HelixDataSource DataSource { get; }

    /// <summary>Gets a value indicating whether a <c>SaveChanges</c> outside a transaction runs in one (<see cref="HelixEntityFrameworkOptions.SaveChangesInTransaction"/>).</summary>
    public bool SavesInTransaction { get; }

    public string PrimaryConnectionString => DataSource.Strands[0].ConnectionString;

    public IInterceptor Connections { get; }

    public IInterceptor Commands { get; }

    public IInterceptor Transactions { get; }

    public IInterceptor SaveChanges { get; }

    /// <summary>Whether the model has <c>xmin</c> concurrency tokens (checked, and the answer kept, once per model).</summary>
    public bool HasServerTokens(Microsoft.EntityFrameworkCore.Metadata.IModel model) => _check.ThrowIfDatabaseGenerated(model);

    public static HelixRouter For(HelixDataSource dataSource, HelixEntityFrameworkOptions options)
    {
        if (dataSource.IsSingleStrand)
        {
            return new HelixRouter(dataSource, options);
        }

        var (primary, secondary) = (dataSource.Strands[0], dataSource.Strands[1]);
        if (primary.Factory.GetType() != secondary.Factory.GetType())
        {
            throw new NotSupportedException($"EF Core through Helix needs both strands on one provider (the context has one EF Core provider); these use {primary.ProviderName} and {secondary.ProviderName}.");
        }

        return new HelixRouter(dataSource, options);
    }

    /// <summary>
    /// Asks the strands, once per provider configuration of the contexts on the data source, to make and set up their
    /// connections as the context's provider makes and sets up its own: from the provider's data source for the strand's
    /// connection string, when it builds one (EF's Npgsql provider, for enums and plugins), and set up as it sets up its
    /// connections (EF's SQLite provider's functions). The first configuration whose provider builds a data source gives
    /// it to the strands, whichever context opened first: one that builds none (no type mappings of its own) is served by
    /// any, so a plain context that opens before one with NodaTime or enums does not leave the strands without them.
    /// Strands an application gave as data sources keep them: Helix cannot build theirs again.
    /// </summary>
    private void SetUpStrandConnections(DbContext context)
    {
        if (_strandsSetUp)
        {
            return;
        }

        // A singleton of EF's internal service provider, which contexts configured alike share: one per provider configuration.
        object services = context.GetService<IRelationalTypeMappingSource>();
        if (StrandsSetUp.GetOrCreateValue(DataSource).TryAdd(services, true))
        {
            SetUpStrands(context);
        }

        _strandsSetUp = true;
    }

    /// <summary>
    /// Gives each strand the data source the context's provider builds for its connection string, unless it has one of
    /// another configuration already: then the context's own types (its enums, its plugins) would fail on the strand,
    /// which is said once per strand (event 3007).
    /// </summary>
    private void SetUpStrands(DbContext context)
    {
        foreach (var strand in DataSource.Strands.Where(s => s.OwnsDataSource))
        {
            if (ProviderDataSource.For(context, strand.ConnectionString) is { } source && !strand.UseConnectionSource(source))
            {
                Log.StrandSourceNotUsed(DataSource.Logger, context.GetType().Name, strand.Name);
            }
        }

        if (ProviderConnectionSetup.For(context) is { } setup)
        {
            foreach (var strand in DataSource.Strands)
            {
                strand.UseConnectionSetup(setup);
            }
        }
    }

    // Per data source: the provider configurations (EF's type mapping sources) whose contexts have set its strands up.
    private static readonly ConditionalWeakTable<HelixDataSource, ConcurrentDictionary<object, bool>> StrandsSetUp = [];

    private volatile bool _strandsSetUp;

    /// <summary>The session of a connection, made when the context first opens it; null for a connection Helix does not route.</summary>
    public EfSession? SessionOf(DbConnection connection, DbContext? context)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            return session;
        }

        // The connection service, not Database.GetDbConnection(): the facade builds EF's migration services on first use.
        if (context is null || !ReferenceEquals(context.GetService<IRelationalConnection>().DbConnection, connection))
        {
            return null;
        }

        var hasTokens = _check.ThrowIfDatabaseGenerated(context.Model);
        SetUpStrandConnections(context);
        var made = EfSessions.GetOrAdd(connection, DataSource);
        made.HasServerTokens |= hasTokens;
        made.HistoryTable ??= RelationalOptionsExtension.Extract(context.GetService<IDbContextOptions>()).MigrationsHistoryTableName
            ?? Microsoft.EntityFrameworkCore.Migrations.HistoryRepository.DefaultTableName;
        return made;
    }
}
