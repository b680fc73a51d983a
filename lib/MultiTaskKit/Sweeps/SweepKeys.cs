using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Sweeps;

/// <summary>
/// Configuration keys as dotted paths into a <see cref="RunConfig"/>'s JSON (<c>optimizer.lr</c>, <c>sharing.plan</c>,
/// <c>method.weighting</c>, <c>seed</c>, <c>tasks.0.batch_size</c>): parsing a <c>key=v1,v2</c> axis and setting values.
/// A value is read as JSON when it parses as a number, <c>true</c>/<c>false</c> or <c>null</c>, else as a string.
/// </summary>
public static class SweepKeys
{
    /// <summary>Parses <c>key=v1,v2,…</c>; <paramref name="source"/> names the argument in errors.</summary>
    public static (string Key, IReadOnlyList<JsonNode?> Values) ParseAxis(string text, string source = "--set")
    {
        var eq = text.IndexOf('=');
        if (eq <= 0 || eq == text.Length - 1)
            throw new ArgumentException($"{source}: expected key=value[,value...] (e.g. optimizer.lr=1e-4,3e-4), found '{text}'.");
        var key = text[..eq].Trim();
        if (key.Split('.').Any(p => p.Length == 0)) throw new ArgumentException($"{source}: expected a dotted key such as optimizer.lr, found '{key}'.");
        var values = text[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ParseValue).ToList();
        if (values.Count == 0) throw new ArgumentException($"{source}: key '{key}' has no values.");
        var dup = values.GroupBy(v => v?.ToJsonString() ?? "null").FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"{source}: key '{key}' lists the value {dup.Key} twice.");
        return (key, values);
    }

    public static JsonNode? ParseValue(string text)
    {
        if (text == "null") return null;
        if (text is "true" or "false") return JsonValue.Create(text == "true");
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return JsonValue.Create(d);
        return JsonValue.Create(text);
    }

    /// <summary>The configuration with every key set; an unknown key or a value of the wrong type is named.</summary>
    public static RunConfig Apply(RunConfig config, IEnumerable<KeyValuePair<string, JsonNode?>> keys, string source = "sweep")
    {
        var root = JsonNode.Parse(config.ToJson())!.AsObject();
        foreach (var (key, value) in keys) Set(root, key, value?.DeepClone(), source);
        RunConfig? result;
        try { result = root.Deserialize<RunConfig>(RunConfig.Json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: the keys {string.Join(", ", keys.Select(k => k.Key))} do not make a valid run configuration ({e.Message}).", e); }
        result = result ?? throw new InvalidDataException($"{source}: expected a configuration, found null.");
        result.Validate(source);
        return result;
    }

    static void Set(JsonObject root, string key, JsonNode? value, string source)
    {
        var parts = key.Split('.');
        JsonNode node = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var p = parts[i];
            JsonNode? next = node switch
            {
                JsonObject o => o[p] ?? (o[p] = new JsonObject()),
                JsonArray a when int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k < a.Count => a[k],
                _ => null,
            };
            node = next ?? throw new InvalidDataException($"{source}: key '{key}': '{string.Join('.', parts[..(i + 1)])}' is not an object or a valid list index in the configuration.");
        }
        var last = parts[^1];
        switch (node)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k < a.Count: a[k] = value; break;
            default: throw new InvalidDataException($"{source}: key '{key}': '{last}' cannot be set (not an object key or a valid list index).");
        }
    }

    /// <summary>A value as it appears in ids and tables: numbers in round-trip form, strings as they are.</summary>
    public static string Format(JsonNode? value) => value switch
    {
        null => "null",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.ToJsonString(),
    };
}
