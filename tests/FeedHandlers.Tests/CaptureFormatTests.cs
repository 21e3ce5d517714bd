using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class CaptureFormatTests
{
    private static CaptureHeader Header(int lines = 1) => new()
    {
        Protocol = CaptureProtocol.MoldUdp64Itch50,
        Source = "test",
        Lines = [.. Enumerable.Range(0, lines).Select(i => $"127.0.0.1:{31000 + i}")],
        StartedUnixNs = 1_700_000_000_000_000_000,
        StartedMonotonicNs = 42,
        Instruments = [new CaptureInstrument(1, "ACME"), new CaptureInstrument(2, "BOLT")],
        Writer = "tests",
    };

    /// <summary>A capture of <paramref name="records"/> records of distinct bytes, in chunks of about <paramref name="chunkBytes"/>.</summary>
    private static byte[] Write(int records, int chunkBytes = 70_000, CaptureSummary? summary = null, int lines = 1)
    {
        var stream = new MemoryStream();
        using (var writer = new CaptureWriter(stream, Header(lines), new CaptureWriterOptions { ChunkBytes = chunkBytes, Buffers = 2 }))
        {
            for (int i = 0; i < records; i++)
            {
                byte[] data = Encoding.ASCII.GetBytes($"record {i:D6} " + new string('x', i % 1000));
                writer.Append(i % lines, 1_000 + i, data, truncated: i % 97 == 0);
            }

            writer.Complete(summary);
        }

        return stream.ToArray();
    }

    private static List<(long Ns, int Line, bool Truncated, string Text)> ReadAll(byte[] capture, out CaptureReader reader, List<CaptureCorruption>? damage = null)
    {
        reader = new CaptureReader(new MemoryStream(capture));
        var records = new List<(long, int, bool, string)>();
        CaptureReadStatus status;
        while ((status = reader.Next(out CaptureChunk chunk)) != CaptureReadStatus.End)
        {
            if (status == CaptureReadStatus.Corrupt)
            {
                damage?.Add(reader.LastCorruption);
                continue;
            }

            if (chunk.Kind != CaptureChunkKind.Records)
            {
                continue;
            }

            CaptureRecordReader r = chunk.Records;
            int n = 0;
            while (r.Next(out CaptureRecord record))
            {
                records.Add((record.ReceivedNs, record.Line, record.Truncated, Encoding.ASCII.GetString(record.Data)));
                n++;
            }

            Assert.That(r.Malformed, Is.False);
            Assert.That(n, Is.EqualTo(chunk.RecordCount));
        }

        return records;
    }

    [Test]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.Compute([]), Is.Zero);
        byte[] data = Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog, twice over.");
        Assert.That(Crc32C.Append(Crc32C.Compute(data.AsSpan(0, 13)), data.AsSpan(13)), Is.EqualTo(Crc32C.Compute(data)), "incremental = whole");
    }

    [Test]
    public void WrittenCaptureReadsBackHeaderRecordsAndSummary()
    {
        byte[] capture = Write(3000, summary: new CaptureSummary { Session = "S1", NextSequence = 99, Gaps = 2, MissedMessages = 5, EndOfSession = true, Instruments = [new CaptureInstrument(7, "ZED")] }, lines: 2);
        Assert.That(CaptureFormat.IsCapture(capture), Is.True);
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader);
        using (reader)
        {
            Assert.That(records, Has.Count.EqualTo(3000));
            for (int i = 0; i < records.Count; i++)
            {
                Assert.That(records[i].Ns, Is.EqualTo(1_000 + i));
                Assert.That(records[i].Line, Is.EqualTo(i % 2));
                Assert.That(records[i].Truncated, Is.EqualTo(i % 97 == 0));
                Assert.That(records[i].Text, Does.StartWith($"record {i:D6} "));
            }

            CaptureHeader h = reader.Header;
            Assert.That(h.Protocol, Is.EqualTo(CaptureProtocol.MoldUdp64Itch50));
            Assert.That(h.Lines, Is.EqualTo(new[] { "127.0.0.1:31000", "127.0.0.1:31001" }));
            Assert.That(h.Instruments, Is.EqualTo(new[] { new CaptureInstrument(1, "ACME"), new CaptureInstrument(2, "BOLT") }));
            Assert.That(h.StartedUnixNs, Is.EqualTo(1_700_000_000_000_000_000));
            Assert.That(reader.Chunks, Is.GreaterThan(10), "several chunks");
            CaptureSummary s = reader.Summary!;
            Assert.That(s, Is.Not.Null);
            Assert.That(s.Records, Is.EqualTo(3000));
            Assert.That(s.Chunks, Is.EqualTo(reader.Chunks - 1));
            Assert.That((s.Session, s.NextSequence, s.Gaps, s.MissedMessages, s.EndOfSession), Is.EqualTo(("S1", 99L, 2L, 5L, true)));
            Assert.That(s.Instruments.Single(), Is.EqualTo(new CaptureInstrument(7, "ZED")));
            Assert.That(reader.CorruptChunks, Is.Zero);
        }
    }

    [Test]
    public void ACorruptedPayloadIsReportedAndTheReaderResumesAtTheNextChunk()
    {
        byte[] capture = Write(2000);
        List<long> chunkOffsets = ChunkOffsets(capture);
        Assert.That(chunkOffsets, Has.Count.GreaterThan(4));
        int victim = 2;
        capture[chunkOffsets[victim] + CaptureFormat.ChunkHeaderLength + 100] ^= 0x40;   // one bit in chunk 2's payload

        var damage = new List<CaptureCorruption>();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader, damage);
        using (reader)
        {
            Assert.That(damage, Is.EqualTo(new[] { CaptureCorruption.PayloadChecksum }));
            Assert.That(reader.LastCorruptionOffset, Is.EqualTo(chunkOffsets[victim]));
            int lost = RecordsIn(Write(2000), victim);
            Assert.That(records, Has.Count.EqualTo(2000 - lost), "exactly the damaged chunk's records are lost");
            Assert.That(records[^1].Text, Does.StartWith("record 001999"), "and reading went on to the end");
            Assert.That(reader.Summary, Is.Not.Null);
        }
    }

    [Test]
    public void ADamagedChunkHeaderIsSkippedUpToTheNextValidChunk()
    {
        byte[] clean = Write(2000);
        List<long> offsets = ChunkOffsets(clean);
        byte[] capture = (byte[])clean.Clone();
        capture[offsets[1] + 8] ^= 0xFF;   // chunk 1's length: its header CRC now fails
        var damage = new List<CaptureCorruption>();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader, damage);
        using (reader)
        {
            Assert.That(damage, Is.EqualTo(new[] { CaptureCorruption.ChunkHeader }), "one damaged stretch, reported once");
            Assert.That(records, Has.Count.EqualTo(2000 - RecordsIn(clean, 1)));
            Assert.That(reader.SkippedBytes, Is.EqualTo(offsets[2] - offsets[1]));
        }
    }

    [Test]
    public void GarbageBetweenChunksIsSkippedAndReportedOnce()
    {
        byte[] clean = Write(500);
        List<long> offsets = ChunkOffsets(clean);
        byte[] garbage = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)), .. "CHN"u8, .. "CHNK"u8, 1, 2, 3];
        byte[] capture = [.. clean.AsSpan(0, (int)offsets[1]), .. garbage, .. clean.AsSpan((int)offsets[1])];
        var damage = new List<CaptureCorruption>();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader, damage);
        using (reader)
        {
            Assert.That(damage, Is.EqualTo(new[] { CaptureCorruption.ChunkHeader }));
            Assert.That(records, Has.Count.EqualTo(500));
            Assert.That(reader.SkippedBytes, Is.EqualTo(garbage.Length));
        }
    }

    [Test]
    public void ACaptureCutShortReportsTheTruncatedChunk()
    {
        byte[] clean = Write(2000);
        List<long> offsets = ChunkOffsets(clean);
        byte[] capture = clean.AsSpan(0, (int)offsets[3] + 1000).ToArray();
        var damage = new List<CaptureCorruption>();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader, damage);
        using (reader)
        {
            Assert.That(damage, Is.EqualTo(new[] { CaptureCorruption.Truncated }));
            Assert.That(records, Has.Count.EqualTo(RecordsIn(clean, 0) + RecordsIn(clean, 1) + RecordsIn(clean, 2)));
            Assert.That(reader.Summary, Is.Null, "a capture cut short has no summary");
        }
    }

    [Test]
    public void AFileThatIsNoCaptureIsRefusedWithAClearMessage()
    {
        var itch = new ItchWriter();
        itch.SystemEvent(1, 'O');
        var ex = Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(itch.ToArray())));
        Assert.That(ex!.Message, Does.Contain("does not start with the capture magic"));
        Assert.That(CaptureFormat.IsCapture(itch.WrittenSpan), Is.False);

        byte[] future = Write(1);
        BinaryPrimitives.WriteUInt16LittleEndian(future.AsSpan(8), 2);
        ex = Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(future)));
        Assert.That(ex!.Message, Does.Contain("version 2 is not supported"));

        byte[] damaged = Write(1);
        damaged[CaptureFormat.PreambleLength + 3] ^= 1;
        ex = Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(damaged)));
        Assert.That(ex!.Message, Does.Contain("header is damaged"));
    }

    [Test]
    public void AHeaderWhoseCrcMatchesButWhoseLengthsLieIsRefusedNotReadOutOfBounds()
    {
        // Found by the capture fuzz target: MemoryPack trusts these lengths and read outside the
        // buffer (an AccessViolationException that ended the process) when the CRC had been made to match.
        byte[] sizes = Write(1);
        sizes[CaptureFormat.PreambleLength + 2] = 0; // the Source member's byte size
        ResealHeader(sizes);
        var ex = Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(sizes)));
        Assert.That(ex!.Message, Does.Contain("not a well-formed capture header"));

        byte[] utf8 = Write(1);
        int source = CaptureFormat.PreambleLength + 1 + 7 + 1; // count, seven sizes, Protocol
        BinaryPrimitives.WriteInt32LittleEndian(utf8.AsSpan(source), int.MinValue); // ~length = int.MaxValue UTF-8 bytes
        ResealHeader(utf8);
        Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(utf8)));

        byte[] utf16 = Write(1);
        BinaryPrimitives.WriteInt32LittleEndian(utf16.AsSpan(source + 4), 3); // announced UTF-16 length of "test" (4)
        ResealHeader(utf16);
        Assert.Throws<CaptureFormatException>(() => _ = new CaptureReader(new MemoryStream(utf16)));
    }

    [Test]
    public void ASummaryWhoseCrcMatchesButWhoseLengthsLieIsReportedAsDamaged()
    {
        byte[] capture = Write(10, summary: new CaptureSummary { Session = "S1" });
        long summary = ChunkOffsets(capture)[^1];
        int payload = (int)summary + CaptureFormat.ChunkHeaderLength;
        capture[payload + 1 + 3] = 100; // the Session member's byte size, past the payload
        ResealChunk(capture, (int)summary);
        var damage = new List<CaptureCorruption>();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(capture, out CaptureReader reader, damage);
        using (reader)
        {
            Assert.That(records, Has.Count.EqualTo(10));
            Assert.That(damage, Is.EqualTo(new[] { CaptureCorruption.Summary }));
            Assert.That(reader.Summary, Is.Null);
        }
    }

    [Test]
    public void HeadersWithLongUnicodeAndEmptyMembersPassTheLengthCheck()
    {
        var header = new CaptureHeader
        {
            Source = new string('é', 300) + "漢字 🚀",
            Lines = [],
            Instruments = [.. Enumerable.Range(0, 5000).Select(i => new CaptureInstrument(i, i % 7 == 0 ? "" : $"S{i}"))],
            Writer = "",
        };
        var stream = new MemoryStream();
        using (var writer = new CaptureWriter(stream, header))
        {
            writer.Complete(new CaptureSummary { Session = new string('x', 200), Instruments = header.Instruments, EndOfSession = true });
        }

        using var reader = new CaptureReader(new MemoryStream(stream.ToArray()));
        Assert.That(reader.Header.Source, Is.EqualTo(header.Source));
        Assert.That(reader.Header.Instruments, Has.Length.EqualTo(5000));
        while (reader.Next(out _) != CaptureReadStatus.End)
        {
        }

        Assert.That(reader.CorruptChunks, Is.Zero);
        Assert.That(reader.Summary!.Session, Has.Length.EqualTo(200));
    }

    [Test]
    public void AGzippedCaptureReadsThroughTheSamePipe()
    {
        byte[] capture = Write(1500);
        string path = Path.Combine(Path.GetTempPath(), $"capture-{Guid.NewGuid():N}.engcap.gz");
        try
        {
            using (FileStream file = File.Create(path))
            using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            {
                gzip.Write(capture);
            }

            Assert.That(CaptureFormat.IsCaptureFile(path), Is.True);
            using CaptureReader reader = CaptureReader.Open(path);
            long records = 0;
            while (reader.Next(out CaptureChunk chunk) == CaptureReadStatus.Chunk)
            {
                records += chunk.Kind == CaptureChunkKind.Records ? chunk.RecordCount : 0;
            }

            Assert.That(records, Is.EqualTo(1500));
            Assert.That(reader.CorruptChunks, Is.Zero);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void UnderTheDropPolicyAStalledDiskCostsCountedRecordsNeverAWait()
    {
        using var gate = new ManualResetEventSlim(false);
        // The preamble, header and header CRC are written by the constructor; chunk writes after that wait.
        var stream = new MemorySinkStream(gate, ungatedWrites: 3);
        var writer = new CaptureWriter(stream, Header(), new CaptureWriterOptions { ChunkBytes = 70_000, Buffers = 2, BackPressure = CaptureBackPressure.Drop });
        byte[] data = new byte[1000];
        int kept = 0;
        for (int i = 0; i < 1000; i++)
        {
            kept += writer.Append(0, i, data) ? 1 : 0;
        }

        Assert.That(writer.DroppedRecords, Is.GreaterThan(0));
        Assert.That(kept + writer.DroppedRecords, Is.EqualTo(1000));
        Assert.That(writer.Records, Is.EqualTo(kept));
        gate.Set();
        writer.Dispose();
        List<(long Ns, int Line, bool Truncated, string Text)> records = ReadAll(stream.Written.ToArray(), out CaptureReader reader);
        using (reader)
        {
            Assert.That(records, Has.Count.EqualTo(kept));
            Assert.That(reader.Summary!.DroppedRecords, Is.EqualTo(writer.DroppedRecords));
        }
    }

    private static void ResealHeader(byte[] capture)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(capture.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(capture.AsSpan(CaptureFormat.PreambleLength + length), Crc32C.Compute(capture.AsSpan(CaptureFormat.PreambleLength, length)));
    }

    private static void ResealChunk(byte[] capture, int offset)
    {
        Span<byte> h = capture.AsSpan(offset, CaptureFormat.ChunkHeaderLength);
        int length = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], Crc32C.Compute(capture.AsSpan(offset + CaptureFormat.ChunkHeaderLength, length)));
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], Crc32C.Compute(h[..28]));
    }

    private static List<long> ChunkOffsets(byte[] capture)
    {
        using var reader = new CaptureReader(new MemoryStream(capture));
        var offsets = new List<long>();
        while (reader.Next(out CaptureChunk chunk) == CaptureReadStatus.Chunk)
        {
            offsets.Add(chunk.Offset);
        }

        return offsets;
    }

    private static int RecordsIn(byte[] capture, int chunkIndex)
    {
        using var reader = new CaptureReader(new MemoryStream(capture));
        for (int i = 0; reader.Next(out CaptureChunk chunk) == CaptureReadStatus.Chunk; i++)
        {
            if (i == chunkIndex)
            {
                return chunk.RecordCount;
            }
        }

        throw new AssertionException($"no chunk {chunkIndex}");
    }
}
