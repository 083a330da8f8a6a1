namespace Helix.Data.EntityFrameworkCore;

/// <summary>Helix's settings for a <c>DbContext</c> (<c>UseHelix(..., configure)</c>).</summary>
public sealed class HelixEntityFrameworkOptions
{
    private readonly HashSet<Type> _databaseGenerated = [];

    /// <summary>
    /// Gets or sets a value indicating whether a <c>SaveChanges</c> outside a transaction runs in one even for a single
    /// statement, where EF Core would use none. It is what makes two contexts saving one row at the same time reach both
    /// strands in the same order (contract amendment 39): without it the servers may keep different values. It costs a
    /// one-row save about 2.7 times plain EF Core's time with servers 1 ms away (docs/efcore.md). Set it to
    /// <see langword="false"/> only where no two contexts save the same row at once, or where such rows carry a
    /// concurrency token.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool SaveChangesInTransaction { get; set; } = true;

    /// <summary>Gets the entity types allowed to keep values the database generates (<see cref="AllowDatabaseGeneratedValues"/>).</summary>
    public IReadOnlySet<Type> DatabaseGeneratedAllowed => _databaseGenerated;

    /// <summary>
    /// Lets an entity type keep keys or values its database generates (identity, serial, sequences,
    /// <c>HasDefaultValueSql</c>), which each strand would generate on its own: only for tables the application knows are
    /// written on one strand alone, or whose generated values may differ between the strands.
    /// </summary>
    /// <typeparam name="TEntity">The entity type.</typeparam>
    /// <returns>These options.</returns>
    public HelixEntityFrameworkOptions AllowDatabaseGeneratedValues<TEntity>()
    {
        _databaseGenerated.Add(typeof(TEntity));
        return this;
    }
}
