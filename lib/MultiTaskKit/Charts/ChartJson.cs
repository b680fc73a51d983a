using System.Text.Json;

namespace MultiTaskKit.Charts;

static class ChartJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
