namespace Helix.Data.EntityFrameworkCore;

/// <summary>Helix's settings for a <c>DbContext</c> (<c>UseHelix(..., configure)</c>).</summary>
public sealed class HelixEntityFrameworkOptions
{
    private readonly HashSet<Type> _databaseGenerated = [];

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
