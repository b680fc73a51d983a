using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Runtime;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Runtime;

[Collection(ProcessStateCollection.Name)]
public class PrecisionProbeTests
{
    static PrecisionProbeResult Measured(bool native, double fp32, double? bf16) => new("test", "cpu", native, "injected", fp32, bf16);

    [Theory]
    [InlineData(true, 200.0, 150.0, Precision.Fp32)]  // bf16 slower
    [InlineData(true, 200.0, 220.0, Precision.Fp32)]  // faster, but not by MinSpeedup: the casts would eat it
    [InlineData(true, 140.0, 300.0, Precision.Bf16)]  // the figures for this machine's kind of CPU
    [InlineData(false, 140.0, 300.0, Precision.Fp32)] // no native bf16: never, whatever a measurement said
    public void AutoPicksBf16OnlyWhereNativeAndFaster(bool native, double fp32, double bf16, Precision expected)
    {
        Assert.Equal(expected, PrecisionProbe.Choose(Measured(native, fp32, bf16)));
        Assert.Equal(expected, Measured(native, fp32, bf16).Choice);
    }

    [Fact]
    public void WithoutABf16MeasurementAutoIsFp32() => Assert.Equal(Precision.Fp32, PrecisionProbe.Choose(Measured(false, 140, null)));

    [Fact]
    public void TheProbeMeasuresOnceAndReadsItsCache()
    {
        var first = Directory.CreateTempSubdirectory("mtk-probe-").FullName;
        var second = Directory.CreateTempSubdirectory("mtk-probe-").FullName;
        try
        {
            var measured = PrecisionProbe.Probe(CPU, first);
            Assert.Equal(PrecisionProbe.Key(CPU), measured.Key);
            Assert.True(measured.Fp32Gflops > 0);
            Assert.Equal(PrecisionProbe.NativeBf16(CPU).Native, measured.NativeBf16);
            Assert.Equal(measured.NativeBf16, measured.Bf16Gflops is not null);
            var file = Assert.Single(Directory.GetFiles(first, "precision-*.json"));

            // The same key in another cache folder, with figures that say bf16 is slower: the probe reads them instead of measuring.
            var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            json["native_bf16"] = true;
            json["fp32_gflops"] = 200.0;
            json["bf16_gflops"] = 120.0;
            File.WriteAllText(Path.Combine(second, Path.GetFileName(file)), json.ToJsonString());
            var cached = PrecisionProbe.Probe(CPU, second);
            Assert.Equal(120.0, cached.Bf16Gflops);
            Assert.Equal(Precision.Fp32, cached.Choice);
            Assert.Equal(Precision.Fp32, PrecisionProbe.Resolve(Precision.Auto, second));
            Assert.Equal(Precision.Bf16, PrecisionProbe.Resolve(Precision.Bf16, second)); // an explicit choice is kept

            // A file written for another key (another CPU, thread count or libtorch) is not trusted.
            var third = Directory.CreateTempSubdirectory("mtk-probe-").FullName;
            json["key"] = "device cpu; cpu another";
            File.WriteAllText(Path.Combine(third, Path.GetFileName(file)), json.ToJsonString());
            Assert.Equal(measured.Key, PrecisionProbe.Probe(CPU, third).Key);
            Directory.Delete(third, true);
        }
        finally { Directory.Delete(first, true); Directory.Delete(second, true); }
    }

    [Theory]
    [InlineData("fp32", Precision.Fp32)]
    [InlineData("BF16", Precision.Bf16)]
    [InlineData("auto", Precision.Auto)]
    public void NamesRoundTrip(string text, Precision expected)
    {
        Assert.Equal(expected, PrecisionNames.Parse(text));
        Assert.Equal(text.ToLowerInvariant(), expected.Name());
    }

    [Fact]
    public void ABadNameSaysWhatWasExpected()
    {
        var e = Assert.Throws<ArgumentException>(() => PrecisionNames.Parse("fp16", "--precision"));
        Assert.Equal("--precision: expected fp32, bf16 or auto, found 'fp16'.", e.Message);
    }
}
