using System.Text;

namespace MultiTaskKit.Data;

/// <summary>One data row of a delimited file, with the line it is on (the header is line 1).</summary>
public sealed record DelimitedRow(long Line, IReadOnlyList<string> Fields);

/// <summary>A delimited file read strictly: its header and rows.</summary>
public sealed record DelimitedTable(string Path, char Separator, IReadOnlyList<string> Header, IReadOnlyList<DelimitedRow> Rows);

/// <summary>
/// A strict reader for CSV/TSV and plain text files. Every problem names the file and the line:
/// <list type="bullet">
/// <item>text must be UTF-8 (a byte sequence that is not is refused, never turned into U+FFFD);</item>
/// <item>every row has as many fields as the header;</item>
/// <item>with quotes on (CSV's default), a field in double quotes may hold the separator and <c>""</c>, but must
/// close on its own line: a quote that runs to the end of the line would merge the following rows into one field;</item>
/// <item>with quotes off (TSV's default: tab-separated text such as tweets or reviews often starts a field with a
/// quote), <c>"</c> is an ordinary character.</item>
/// </list>
/// </summary>
public static class DelimitedText
{
    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The largest file read whole (2 GiB less a little: the largest .NET byte array).</summary>
    public const long MaxFileBytes = 0x7FFFFFC7;

    /// <summary>The file's lines, decoded as strict UTF-8 (a BOM and CR line ends are accepted).</summary>
    public static IReadOnlyList<string> ReadLines(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: expected a text file, found a folder.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: expected a text file, found no such file.", path);
        long size = new FileInfo(path).Length;
        if (size > MaxFileBytes)
            throw new InvalidDataException($"{path}: the file has {size:N0} bytes; files are read whole, up to 2 GiB ({MaxFileBytes:N0} bytes): split it, or take a subset.");
        var bytes = File.ReadAllBytes(path);
        var lines = new List<string>();
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            int stop = end < 0 ? bytes.Length : end;
            int length = stop - start;
            if (length > 0 && bytes[stop - 1] == '\r') length--;
            try { lines.Add(Strict.GetString(bytes, start, length)); }
            catch (DecoderFallbackException e)
            {
                int column = e.Index >= 0 ? e.Index + 1 : 0;
                var bad = e.BytesUnknown is { Length: > 0 } u ? string.Join(" ", u.Select(b => $"0x{b:X2}")) : "?";
                throw new InvalidDataException($"{path}, line {lines.Count + 1}: expected UTF-8 text, found the invalid byte sequence {bad} at byte {column} of the line; save the file as UTF-8.", e);
            }
            if (end < 0) break;
            start = end + 1;
        }
        return lines;
    }

    /// <summary>Reads a delimited file with a header row, or with the given column names and no header.</summary>
    /// <param name="path">The file.</param>
    /// <param name="separator">Field separator.</param>
    /// <param name="quotes">Whether double quotes enclose fields (CSV) or are plain characters.</param>
    /// <param name="columns">The columns' names when the file has no header row (every line is data); null: the first
    /// non-empty line is the header.</param>
    public static DelimitedTable Read(string path, char separator, bool quotes, IReadOnlyList<string>? columns = null)
    {
        var lines = ReadLines(path);
        string sepName = separator == '\t' ? "tab" : $"'{separator}'";
        int first = 0;
        while (first < lines.Count && lines[first].Length == 0) first++;
        if (first == lines.Count) throw new InvalidDataException($"{path}: expected {(columns is null ? "a header row" : "data rows")}, found an empty file.");
        IReadOnlyList<string> header;
        if (columns is null) header = Split(lines[first], separator, quotes, path, first + 1);
        else { header = columns; first--; }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in header)
            if (!seen.Add(h)) throw new InvalidDataException($"{path}, line {first + 1}: the header names column '{h}' twice.");
        var rows = new List<DelimitedRow>();
        for (int i = first + 1; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) continue;
            var fields = Split(lines[i], separator, quotes, path, i + 1);
            if (fields.Count != header.Count)
                throw new InvalidDataException($"{path}, line {i + 1}: expected {header.Count} {sepName}-separated fields as in the {(columns is null ? "header" : "configured columns")}, found {fields.Count}{(quotes ? "" : " (quotes are not special in this file; set \"quotes\": true if fields are quoted)")}.");
            rows.Add(new DelimitedRow(i + 1, fields));
        }
        return new DelimitedTable(path, separator, header, rows);
    }

    static List<string> Split(string line, char separator, bool quotes, string path, long lineNumber)
    {
        var fields = new List<string>();
        if (!quotes)
        {
            fields.AddRange(line.Split(separator));
            return fields;
        }
        var sb = new StringBuilder();
        int i = 0;
        while (true)
        {
            sb.Clear();
            if (i < line.Length && line[i] == '"')
            {
                int open = i++;
                while (true)
                {
                    if (i >= line.Length)
                        throw new InvalidDataException($"{path}, line {lineNumber}: a quoted field opens at column {open + 1} and does not close on this line; fields that span lines are not read (close the quote, or for tab-separated text set \"quotes\": false).");
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    sb.Append(line[i++]);
                }
                if (i < line.Length && line[i] != separator)
                    throw new InvalidDataException($"{path}, line {lineNumber}: expected the separator after the quoted field closed at column {i}, found '{line[i]}'.");
            }
            else
            {
                int next = line.IndexOf(separator, i);
                int stop = next < 0 ? line.Length : next;
                sb.Append(line, i, stop - i);
                i = stop;
            }
            fields.Add(sb.ToString());
            if (i >= line.Length) return fields;
            i++; // the separator
            if (i == line.Length) { fields.Add(""); return fields; }
        }
    }
}
