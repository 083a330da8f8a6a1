using System.Collections.Concurrent;
using System.Data;

namespace Helix.Data.Internal;

/// <summary>What Helix needs to know about a command text: whether it writes, and how it names <c>helix_ts</c>.</summary>
/// <param name="IsWrite">Whether any statement of the text modifies data, or might.</param>
/// <param name="TimestampParameter">The parameter name as written in the text (<c>@helix_ts</c>, <c>:helix_ts</c>, <c>$helix_ts</c>), or <see langword="null"/>.</param>
/// <param name="ChangesSession">Whether a statement changes the connection's session (<c>SET</c>, <c>RESET</c>, <c>set_config</c>): see <see cref="SessionState"/>.</param>
/// <param name="NondeterministicCall">
/// The first call, as written, whose value each strand would compute for itself in a statement that stores it
/// (<c>now()</c> in an <c>INSERT</c>): see <see cref="NondeterministicCalls"/>; <see langword="null"/> when there is none.
/// </param>
/// <param name="LastGeneratedKeyRead">
/// A call that reads the key the session's last insert generated, as written, in a statement that does not store it
/// (<c>SELECT LAST_INSERT_ID()</c>): each strand answers with its own key; <see langword="null"/> when there is none.
/// </param>
/// <param name="SetsTransactionLocal">
/// Whether a statement sets something for the rest of its transaction (<c>SET LOCAL</c>, <c>set_config(..., true)</c>):
/// such a text is a write, and its replay entry is applied in a transaction of its own (<see cref="SessionState"/>).
/// </param>
internal readonly record struct SqlTextInfo(bool IsWrite, string? TimestampParameter, bool ChangesSession = false, string? NondeterministicCall = null, string? LastGeneratedKeyRead = null, bool SetsTransactionLocal = false);

/// <summary>
/// Classifies SQL text as read or write (contract section 4) by looking at the first keyword of every statement, after
/// whitespace, comments and opening parentheses, across the PostgreSQL, SQL Server, SQLite and MySQL dialects.
/// Anything it cannot be sure of is a write: writing twice is safe, reading what should have been written is not.
/// </summary>
internal static class SqlClassifier
{
    private const int MaxCachedTexts = 4096;
    private static readonly ConcurrentDictionary<string, SqlTextInfo> Cache = new(StringComparer.Ordinal);

    public static bool IsWrite(CommandType commandType, string? text) => commandType switch
    {
        CommandType.StoredProcedure => true,
        CommandType.TableDirect => false,
        _ => Analyze(text).IsWrite,
    };

    public static SqlTextInfo Analyze(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new(true, null);
        }

        if (Cache.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var result = new Scanner(text, backslashEscapes: false, nestedComments: true).Run(out var ambiguous);
        if (ambiguous)
        {
            // Backslashes in strings or nested comments mean different things in different dialects. Read the text the
            // other way too, and call it a write if either reading finds one.
            var other = new Scanner(text, backslashEscapes: true, nestedComments: false).Run(out _);
            result = new(
                result.IsWrite || other.IsWrite,
                result.TimestampParameter ?? other.TimestampParameter,
                result.ChangesSession || other.ChangesSession,
                result.NondeterministicCall ?? other.NondeterministicCall,
                result.LastGeneratedKeyRead ?? other.LastGeneratedKeyRead,
                result.SetsTransactionLocal || other.SetsTransactionLocal);
        }

        if (Cache.Count < MaxCachedTexts)
        {
            Cache.TryAdd(text, result);
        }

        return result;
    }

    private sealed class Scanner(string text, bool backslashEscapes, bool nestedComments)
    {
        private readonly string _text = text;
        private readonly List<(string Word, int Depth)> _words = [];
        private int _position;
        private int _depth;
        private bool? _hint;
        private bool _anyStatement;
        private bool _isWrite;
        private bool _changesSession;
        private bool _setsTransactionLocal;
        private bool _ambiguous;
        private string? _timestamp;
        private string? _call;
        private string? _storedCall;
        private string? _lastKeyRead;

        public SqlTextInfo Run(out bool ambiguous)
        {
            while (_position < _text.Length)
            {
                var c = _text[_position];
                if (c == ';')
                {
                    EndStatement();
                    _position++;
                }
                else if (char.IsWhiteSpace(c))
                {
                    _position++;
                }
                else if (c == '-' && Peek(1) == '-')
                {
                    var end = _text.IndexOf('\n', _position);
                    end = end < 0 ? _text.Length : end;
                    ReadHint(_position + 2, end);
                    _position = end;
                }
                else if (c == '/' && Peek(1) == '*')
                {
                    SkipBlockComment();
                }
                else if (c == '\'')
                {
                    var escaped = backslashEscapes || IsEscapeStringPrefix();
                    SkipQuoted('\'', escaped);
                }
                else if (c == '"' || c == '`')
                {
                    SkipQuoted(c, backslashEscapes);
                }
                else if (c == '[')
                {
                    SkipQuoted(']', false);
                }
                else if (c == '$' && TrySkipDollarQuote())
                {
                    // skipped a $tag$...$tag$ body
                }
                else if (c is '@' or ':' or '$')
                {
                    CheckTimestampParameter(c);
                    _position++;
                }
                else if (c == '(')
                {
                    _depth++;
                    _position++;
                }
                else if (c == ')')
                {
                    _depth = Math.Max(0, _depth - 1);
                    _position++;
                }
                else if (char.IsAsciiLetter(c) || c == '_')
                {
                    var start = _position;
                    while (_position < _text.Length && IsWordChar(_text[_position]))
                    {
                        _position++;
                    }

                    _words.Add((_text[start.._position].ToUpperInvariant(), _depth));
                    _call ??= NondeterministicCalls.Find(_text, start, _position, _words);
                }
                else
                {
                    _position++;
                }
            }

            EndStatement();
            ambiguous = _ambiguous;
            return new(_isWrite || !_anyStatement, _timestamp, _changesSession, _storedCall, _lastKeyRead, _setsTransactionLocal);
        }

        private char Peek(int offset) => _position + offset < _text.Length ? _text[_position + offset] : '\0';

        private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '$';

        private bool IsEscapeStringPrefix() =>
            _position > 0 && _text[_position - 1] is 'E' or 'e' && (_position == 1 || !IsWordChar(_text[_position - 2]));

        private void EndStatement()
        {
            var reach = _words.Count > 0 ? SessionState.ReachOf(_words) : SessionState.Reach.None;
            _changesSession |= reach == SessionState.Reach.Session;
            _setsTransactionLocal |= reach == SessionState.Reach.Transaction;
            _isWrite |= reach == SessionState.Reach.Transaction; // it must hold on every strand the transaction writes
            _call ??= _words.Count > 0 ? NondeterministicCalls.ChosenRows(_words) ?? NondeterministicCalls.SystemColumn(_words) : null;
            if (_call is not null && (_hint ?? NondeterministicCalls.Stored(_words)))
            {
                _storedCall ??= _call;
            }
            else if (_call is not null && NondeterministicCalls.ReadsLastGeneratedKey(_call))
            {
                _lastKeyRead ??= _call;
            }

            _call = null;
            if (_hint is { } hinted)
            {
                _anyStatement = true;
                _isWrite |= hinted;
            }
            else if (_words.Count > 0)
            {
                _anyStatement = true;
                _isWrite |= StatementWrites(_words);
            }

            _words.Clear();
            _hint = null;
            _depth = 0;
        }

        private void ReadHint(int start, int end)
        {
            if (_words.Count > 0)
            {
                return; // only a comment before the statement's first word is a hint
            }

            var body = _text.AsSpan(start, end - start).Trim();
            if (body.Equals("helix:read", StringComparison.OrdinalIgnoreCase))
            {
                _hint = false;
            }
            else if (body.Equals("helix:write", StringComparison.OrdinalIgnoreCase))
            {
                _hint = true;
            }
        }

        private void SkipBlockComment()
        {
            var bodyStart = _position + 2;
            _position += 2;
            var level = 1;
            while (_position < _text.Length && level > 0)
            {
                if (_text[_position] == '*' && Peek(1) == '/')
                {
                    level--;
                    _position += 2;
                }
                else if (_text[_position] == '/' && Peek(1) == '*')
                {
                    _ambiguous = true;
                    level += nestedComments ? 1 : 0;
                    _position += 2;
                }
                else
                {
                    _position++;
                }
            }

            if (level == 0)
            {
                ReadHint(bodyStart, _position - 2);
            }
        }

        private void SkipQuoted(char close, bool escapes)
        {
            _position++;
            while (_position < _text.Length)
            {
                var c = _text[_position];
                if (c == '\\')
                {
                    _ambiguous = true;
                    _position += escapes ? 2 : 1;
                }
                else if (c == close)
                {
                    if (Peek(1) == close && close != ']')
                    {
                        _position += 2; // doubled quote
                    }
                    else
                    {
                        _position++;
                        return;
                    }
                }
                else
                {
                    _position++;
                }
            }
        }

        private bool TrySkipDollarQuote()
        {
            if (_position > 0 && IsWordChar(_text[_position - 1]))
            {
                return false; // part of an identifier such as a$b
            }

            var end = _position + 1;
            while (end < _text.Length && (char.IsAsciiLetterOrDigit(_text[end]) || _text[end] == '_'))
            {
                end++;
            }

            if (end >= _text.Length || _text[end] != '$' || (end > _position + 1 && char.IsAsciiDigit(_text[_position + 1])))
            {
                return false;
            }

            var tag = _text.AsSpan(_position, end - _position + 1);
            var close = _text.AsSpan(end + 1).IndexOf(tag, StringComparison.Ordinal);
            _position = close < 0 ? _text.Length : end + 1 + close + tag.Length;
            return true;
        }

        private void CheckTimestampParameter(char prefix)
        {
            const string Name = "helix_ts";
            if (_position > 0 && _text[_position - 1] == prefix)
            {
                return; // '::' is a cast, '@@' a server variable
            }

            var rest = _text.AsSpan(_position + 1);
            if (rest.StartsWith(Name, StringComparison.OrdinalIgnoreCase) && (rest.Length == Name.Length || !IsWordChar(rest[Name.Length])))
            {
                _timestamp ??= _text.Substring(_position, Name.Length + 1);
            }
        }

        private static bool StatementWrites(List<(string Word, int Depth)> words)
        {
            var (first, depth) = words[0];
            switch (first)
            {
                case "SELECT":
                    return HasTopLevelInto(words, depth) || HasLockingClause(words) || AdvancesASequence(words);
                case "WITH":
                    return HasTopLevelInto(words, depth) || HasLockingClause(words) || AdvancesASequence(words) || words.Exists(static w => w.Word is "INSERT" or "UPDATE" or "DELETE" or "MERGE" or "UPSERT" or "REPLACE");
                case "SHOW" or "VALUES" or "TABLE" or "DESCRIBE" or "DESC":
                    return false;
                case "EXPLAIN":
                    return words.Exists(static w => w.Word is "ANALYZE" or "ANALYSE");
                default:
                    return true;
            }
        }

        private static bool HasTopLevelInto(List<(string Word, int Depth)> words, int depth) =>
            words.Exists(w => w.Word == "INTO" && w.Depth == depth);

        /// <summary>
        /// Whether the statement takes or sets a sequence's next value (PostgreSQL's and MariaDB's <c>nextval</c> and
        /// <c>setval</c>, the standard <c>NEXT VALUE FOR</c> of SQL Server and MariaDB): run on one strand, that strand's
        /// sequence would move ahead of the other's. A column of that name counts too: a write costs a second run, a
        /// sequence moved on one strand only costs keys that collide after a failover.
        /// </summary>
        private static bool AdvancesASequence(List<(string Word, int Depth)> words)
        {
            for (var i = 0; i < words.Count; i++)
            {
                if (words[i].Word is "NEXTVAL" or "SETVAL"
                    || (words[i].Word == "NEXT" && i + 2 < words.Count && words[i + 1].Word == "VALUE" && words[i + 2].Word == "FOR"))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool HasLockingClause(List<(string Word, int Depth)> words)
        {
            for (var i = 0; i < words.Count; i++)
            {
                var word = words[i].Word;
                var next = i + 1 < words.Count ? words[i + 1].Word : null;
                if ((word == "FOR" && next is "UPDATE" or "SHARE" or "NO" or "KEY")
                    || (word == "LOCK" && next == "IN")
                    || word is "UPDLOCK" or "XLOCK" or "HOLDLOCK" or "TABLOCKX")
                {
                    return true;
                }
            }

            return false;
        }
    }
}
