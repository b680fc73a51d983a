using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MultiTaskKit.IO;

/// <summary>
/// Checks for configuration files that System.Text.Json lets through or reports in its own terms: a key given twice in
/// one object (the last would win silently), and enum values named in snake_case with the allowed names listed.
/// </summary>
internal static class StrictJson
{
    /// <summary>Throws naming the file, line and key when an object of <paramref name="json"/> holds a key twice.
    /// Comments and trailing commas are allowed, as the configuration reader allows them; malformed JSON is left to it.</summary>
    public static void RefuseDuplicateKeys(string json, string source)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var objects = new Stack<(HashSet<string> Keys, string Path)>();
        var containers = new Stack<string>();
        string? lastKey = null;
        string Here() => containers.Count == 0 ? "" : containers.Peek();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        var path = lastKey is null ? Here() : Here().Length == 0 ? lastKey : $"{Here()}.{lastKey}";
                        containers.Push(path);
                        if (reader.TokenType == JsonTokenType.StartObject) objects.Push((new HashSet<string>(StringComparer.Ordinal), path));
                        lastKey = null;
                        break;
                    case JsonTokenType.EndObject:
                        objects.Pop();
                        containers.Pop();
                        lastKey = null;
                        break;
                    case JsonTokenType.EndArray:
                        containers.Pop();
                        lastKey = null;
                        break;
                    case JsonTokenType.PropertyName:
                        var key = reader.GetString()!;
                        var (keys, where) = objects.Peek();
                        if (!keys.Add(key))
                        {
                            int line = 1 + bytes.AsSpan(0, (int)reader.TokenStartIndex).Count((byte)'\n');
                            throw new InvalidDataException($"{source}, line {line}: key '{key}' appears twice in {(where.Length == 0 ? "the top-level object" : $"'{where}'")}; give each key once (the last one would win silently).");
                        }
                        lastKey = key;
                        break;
                    default:
                        lastKey = null;
                        break;
                }
            }
        }
        catch (JsonException) { } // malformed: the reader that follows reports it with its position
    }

    /// <summary>Enums as snake_case names (<c>head_tail</c>); an unknown name is refused with the allowed ones.</summary>
    public sealed class EnumConverter : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(Named<>).MakeGenericType(typeToConvert))!;

        sealed class Named<T> : JsonConverter<T> where T : struct, Enum
        {
            static readonly (string Name, T Value)[] Names =
                Enum.GetValues<T>().Select(v => (JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), v)).ToArray();

            static string Allowed => string.Join(", ", Names.Select(n => n.Name));

            public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            {
                if (reader.TokenType != JsonTokenType.String)
                    throw new JsonException($"expected one of {Allowed} (a string), found {reader.TokenType.ToString().ToLowerInvariant()}");
                var text = reader.GetString()!;
                foreach (var (name, value) in Names)
                    if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) return value;
                throw new JsonException($"expected one of {Allowed}, found '{text}'");
            }

            public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
                writer.WriteStringValue(Names.First(n => EqualityComparer<T>.Default.Equals(n.Value, value)).Name);
        }
    }
}
