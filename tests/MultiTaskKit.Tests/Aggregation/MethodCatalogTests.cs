using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;

namespace MultiTaskKit.Tests.Aggregation;

/// <summary>
/// The catalogue's names, what each builds, and its refusals. Mutation testing (<c>.ci/mutation aggregation</c>) found
/// every name in it unread: a method could be listed under a blank name, or build under another, with no test failing.
/// </summary>
public class MethodCatalogTests
{
    static readonly string[] Expected =
    [
        "ew", "uw", "dwa", "rlw", "famo", "gradnorm", "db-mtl", "gls", "stch", "imtl-l", "excess-mtl",
        "mgda", "mgda-ub", "pcgrad", "cagrad", "gradvac", "gradvac-layer", "gradvac-param", "imtl", "imtl-g", "nash-mtl",
        "aligned-mtl", "upgrad", "dualproj", "config", "fairgrad", "moco", "graddrop", "krum", "trimmed-mean",
    ];

    static readonly string[] ThreeTasks = ["a", "b", "c"];

    [Fact]
    public void TheCatalogueListsEveryMethodWeightingsFirst()
    {
        Assert.Equal(Expected, MethodCatalog.Names);
        var firstAggregator = MethodCatalog.Names.Select((n, i) => (n, i)).First(x => MethodCatalog.Create(x.n, ThreeTasks).Aggregator is not null).i;
        Assert.Equal(11, firstAggregator);
        Assert.All(MethodCatalog.Names.Skip(firstAggregator), n => Assert.NotNull(MethodCatalog.Create(n, ThreeTasks).Aggregator));
    }

    public static TheoryData<string> Names() => new(Expected);

    [Theory]
    [MemberData(nameof(Names))]
    public void EachNameBuildsTheMethodOfThatName(string name)
    {
        var spec = MethodCatalog.Create(" " + name.ToUpperInvariant() + " ", ThreeTasks); // case and spaces do not matter
        Assert.Equal(name, spec.Name);
        Assert.Equal(ThreeTasks, ((WeightingMethod)spec.Weighting).AllTasks);
        Assert.Equal(name == "mgda-ub" ? GradientMode.Representation : GradientMode.Parameters, spec.Mode);
        if (spec.Aggregator is { } a) Assert.False(string.IsNullOrWhiteSpace(a.Name));
        Assert.False(string.IsNullOrWhiteSpace(spec.ToString()));
    }

    [Fact]
    public void AggregatorsHaveNamesOfTheirOwn()
    {
        var aggregators = Expected.Select(n => MethodCatalog.Create(n, ThreeTasks).Aggregator).OfType<IGradientAggregator>()
            .Select(a => a.Name).Distinct().ToList();
        // 19 entries with an aggregator: mgda and mgda-ub share MGDA, imtl and imtl-g share IMTL
        Assert.Equal(17, aggregators.Count);
        Assert.Contains("PCGrad", aggregators);
        Assert.Contains("DualProj", aggregators);
    }

    [Fact]
    public void RefusalsNameTheMethodAndWhatIsWrong()
    {
        var unknown = Assert.Throws<ArgumentException>(() => MethodCatalog.Create("adam", ThreeTasks));
        Assert.Contains("unknown method 'adam'; known methods: ew, uw", unknown.Message);
        Assert.Throws<ArgumentNullException>(() => MethodCatalog.Create("ew", null!));
        var twice = Assert.Throws<ArgumentException>(() => MethodCatalog.Create("pcgrad", ["a", "b", "a"]));
        Assert.Contains("task 'a' appears twice", twice.Message);
        Assert.NotNull(MethodCatalog.Create("pcgrad", ["a", "b"])); // distinct names pass
        var few = Assert.Throws<ArgumentException>(() => MethodCatalog.Create("krum", ["a", "b"]));
        Assert.Contains("method 'krum' needs at least 3 tasks, found 2 (a, b)", few.Message);
        Assert.Equal(3, MethodCatalog.MinTasks("trimmed-mean"));
        Assert.Equal(3, MethodCatalog.MinTasks(" KRUM "));
        Assert.Equal(1, MethodCatalog.MinTasks("ew"));
        Assert.DoesNotContain("krum", MethodCatalog.NamesFor(2));
        Assert.Equal(Expected, MethodCatalog.NamesFor(3));
    }
}
