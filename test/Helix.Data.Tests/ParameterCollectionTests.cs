using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>
/// <see cref="HelixParameterCollection"/> keeps up to four parameters inside itself and moves to an array beyond: every
/// operation must behave as a list does on both sides of that line.
/// </summary>
public class ParameterCollectionTests
{
    [TestCase(0)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(9)]
    public void Adding_inserting_and_removing_behave_as_a_list(int initial)
    {
        using var command = new HelixCommand();
        var collection = command.Parameters;
        var expected = new List<DbParameter>();
        for (var i = 0; i < initial; i++)
        {
            var parameter = new SqliteParameter($"@p{i}", i);
            expected.Add(parameter);
            Assert.That(collection.Add((object)parameter), Is.EqualTo(i));
        }

        var front = new SqliteParameter("@front", "f");
        collection.Insert(0, front);
        expected.Insert(0, front);
        var middle = new SqliteParameter("@middle", "m");
        collection.Insert(expected.Count / 2, middle);
        expected.Insert(expected.Count / 2, middle);
        var end = collection.AddWithValue("end", 1);
        expected.Add(end);
        Assert.That(Names(collection), Is.EqualTo(expected.Select(p => p.ParameterName)));

        collection.Remove(middle);
        expected.Remove(middle);
        collection.RemoveAt(0);
        expected.RemoveAt(0);
        collection.RemoveAt("end");
        expected.Remove(end);
        Assert.Multiple(() =>
        {
            Assert.That(Names(collection), Is.EqualTo(expected.Select(p => p.ParameterName)));
            Assert.That(collection, Has.Count.EqualTo(initial));
            Assert.That(collection.Contains(front), Is.False);
            Assert.That(collection.IndexOf("@front"), Is.EqualTo(-1));
            Assert.That(collection.Cast<DbParameter>(), Is.EqualTo(expected));
        });
        if (initial > 0)
        {
            var last = $"p{initial - 1}";
            Assert.Multiple(() =>
            {
                Assert.That(collection.IndexOf(last), Is.EqualTo(initial - 1), "found without its prefix");
                Assert.That(collection[last].Value, Is.EqualTo(initial - 1));
                Assert.That(collection.Contains(expected[^1]), Is.True);
            });
            var replacement = new SqliteParameter("@replaced", 0);
            collection[0] = replacement;
            Assert.That(collection[0], Is.SameAs(replacement));
        }

        var copy = new DbParameter[collection.Count + 1];
        collection.CopyTo(copy, 1);
        Assert.That(copy.Skip(1), Is.EqualTo(collection.Cast<DbParameter>()));
        collection.Clear();
        Assert.Multiple(() =>
        {
            Assert.That(collection, Is.Empty);
            Assert.That(() => collection[0], Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => collection.Insert(1, new SqliteParameter()), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => collection["missing"], Throws.InstanceOf<IndexOutOfRangeException>());
            Assert.That(() => collection.Add((object)"not a parameter"), Throws.InstanceOf<InvalidCastException>());
        });
    }

    private static List<string> Names(HelixParameterCollection collection) => [.. collection.Cast<DbParameter>().Select(p => p.ParameterName)];
}
