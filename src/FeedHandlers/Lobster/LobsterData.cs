using System.Globalization;
using System.IO.Compression;
using Engine.Events;

namespace FeedHandlers.Lobster;

/// <summary>What <see cref="LobsterReader.Next"/> found.</summary>
public enum LobsterReadStatus
{
    /// <summary>A message and the book row after it.</summary>
    Row,

    /// <summary>The message row or its book row was malformed, or the book row is no book (see <see cref="LobsterCsv.IsConsistentBook"/>); both rows were consumed and the reason is given.</summary>
    Rejected,

    /// <summary>Both files are exhausted.</summary>
    End,
}

/// <summary>
/// One LOBSTER day of one ticker in memory: the message file and the matching orderbook file, read
/// from LOBSTER's zip or from the two CSV files. Cold path (loads whole files).
/// </summary>
public sealed class LobsterData
{
    private LobsterData(string ticker, int levels, byte[] messages, byte[] orderbook, string source)
    {
        Ticker = ticker;
        Levels = levels;
        Messages = messages;
        Orderbook = orderbook;
        Source = source;
    }

    /// <summary>Ticker, from the file name (the part before the first '_').</summary>
    public string Ticker { get; }

    /// <summary>Book levels per side in the orderbook file.</summary>
    public int Levels { get; }

    /// <summary>Bytes of the message file.</summary>
    public byte[] Messages { get; }

    /// <summary>Bytes of the orderbook file.</summary>
    public byte[] Orderbook { get; }

    /// <summary>Where the data came from, for reports.</summary>
    public string Source { get; }

    /// <summary>A reader over both files in lockstep.</summary>
    public LobsterReader Reader() => new(Messages, Orderbook, Levels);

    /// <summary>
    /// Loads a LOBSTER zip (<c>LOBSTER_SampleFile_TICKER_DATE_L.zip</c>, or any zip holding exactly one
    /// <c>*_message_L.csv</c> and its <c>*_orderbook_L.csv</c>). Throws <see cref="InvalidDataException"/>
    /// naming what is missing.
    /// </summary>
    public static LobsterData FromZip(string path)
    {
        string full = Path.GetFullPath(path);
        using ZipArchive zip = ZipFile.OpenRead(full);
        ZipArchiveEntry[] messages = [.. zip.Entries.Where(e => e.Name.Contains("_message_", StringComparison.Ordinal) && e.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))];
        if (messages.Length != 1)
        {
            throw new InvalidDataException($"LOBSTER zip '{full}' holds {messages.Length} message files (*_message_L.csv); expected exactly one.");
        }

        string bookName = messages[0].Name.Replace("_message_", "_orderbook_", StringComparison.Ordinal);
        ZipArchiveEntry book = zip.Entries.FirstOrDefault(e => e.Name == bookName)
            ?? throw new InvalidDataException($"LOBSTER zip '{full}' has '{messages[0].Name}' but not its orderbook file '{bookName}'.");
        return Create(messages[0].Name, ReadEntry(messages[0]), ReadEntry(book), $"{full}!{messages[0].Name}");
    }

    /// <summary>Loads a message file and its orderbook file (CSV).</summary>
    public static LobsterData FromFiles(string messagePath, string orderbookPath)
    {
        string message = Path.GetFullPath(messagePath);
        string book = Path.GetFullPath(orderbookPath);
        foreach (string file in new[] { message, book })
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"LOBSTER file '{file}' does not exist.", file);
            }
        }

        return Create(Path.GetFileName(message), File.ReadAllBytes(message), File.ReadAllBytes(book), message);
    }

    /// <summary>Builds from bytes already in memory (tests, tools); the ticker comes from <paramref name="messageFileName"/>.</summary>
    public static LobsterData Create(string messageFileName, byte[] messages, byte[] orderbook, string source)
    {
        ArgumentNullException.ThrowIfNull(messageFileName);
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(orderbook);
        var lines = new LineReader(orderbook);
        int columns = lines.Next(out ReadOnlySpan<byte> first) ? LobsterCsv.Columns(first) : 0;
        if (columns == 0 || columns % 4 != 0)
        {
            throw new InvalidDataException($"LOBSTER orderbook of '{source}' starts with a row of {columns} columns; expected 4 per level (ask price, ask size, bid price, bid size).");
        }

        int levels = columns / 4;
        string stem = Path.GetFileNameWithoutExtension(messageFileName);
        int at = stem.IndexOf("_message_", StringComparison.Ordinal);
        if (at > 0 && int.TryParse(stem.AsSpan(at + 9), NumberStyles.None, CultureInfo.InvariantCulture, out int named) && named != levels)
        {
            throw new InvalidDataException($"'{messageFileName}' names level {named}, but its orderbook rows have {levels} levels.");
        }

        int underscore = messageFileName.IndexOf('_', StringComparison.Ordinal);
        string ticker = underscore > 0 ? messageFileName[..underscore] : Path.GetFileNameWithoutExtension(messageFileName);
        return new LobsterData(ticker, levels, messages, orderbook, source);
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry)
    {
        using Stream stream = entry.Open();
        var bytes = new byte[entry.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}

/// <summary>
/// Reads a LOBSTER message file and its orderbook file in lockstep (row i of the orderbook is the
/// book after message i). Allocation-free: messages are parsed in place and the book row is written
/// into the caller's span.
/// </summary>
public ref struct LobsterReader
{
    private LineReader _messages;
    private LineReader _book;

    /// <summary>Reads <paramref name="messages"/> with <paramref name="orderbook"/> (<paramref name="levels"/> levels per side).</summary>
    public LobsterReader(ReadOnlySpan<byte> messages, ReadOnlySpan<byte> orderbook, int levels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 1);
        _messages = new LineReader(messages);
        _book = new LineReader(orderbook);
        Levels = levels;
    }

    /// <summary>Levels per side.</summary>
    public int Levels { get; }

    /// <summary>Values per book row (4 × <see cref="Levels"/>).</summary>
    public readonly int RowWidth => 4 * Levels;

    /// <summary>Rows read (accepted and rejected).</summary>
    public long Rows { get; private set; }

    /// <summary>
    /// Reads the next message and its book row into <paramref name="row"/> (length
    /// <see cref="RowWidth"/>). A file that ends before the other gives
    /// <see cref="RejectReason.TruncatedFrame"/> for each row left in the longer one.
    /// </summary>
    public LobsterReadStatus Next(out LobsterMessage message, Span<long> row, out RejectReason reason)
    {
        bool hasMessage = _messages.Next(out ReadOnlySpan<byte> messageLine);
        bool hasBook = _book.Next(out ReadOnlySpan<byte> bookLine);
        message = default;
        reason = default;
        if (!hasMessage && !hasBook)
        {
            return LobsterReadStatus.End;
        }

        Rows++;
        if (!hasMessage || !hasBook)
        {
            reason = RejectReason.TruncatedFrame;
            return LobsterReadStatus.Rejected;
        }

        if (!LobsterCsv.TryParseMessage(messageLine, out message, out reason)
            || !LobsterCsv.TryParseBookRow(bookLine, row[..RowWidth], out reason))
        {
            return LobsterReadStatus.Rejected;
        }

        if (!LobsterCsv.IsConsistentBook(row[..RowWidth]))
        {
            reason = RejectReason.InvalidField;
            return LobsterReadStatus.Rejected;
        }

        return LobsterReadStatus.Row;
    }
}
