using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Runtime;

public class AutogradTests
{

    static Tensor Loss(Tensor w, Tensor x, Tensor y) =>
        nn.functional.mse_loss(tanh(x.matmul(w)), y) + 0.1 * w.pow(2).sum();

    [Fact]
    public void AutogradMatchesCentralDifferences()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        var x = randn(new long[] { 8, 3 }, dtype: float64, generator: gen);
        var y = randn(new long[] { 8, 2 }, dtype: float64, generator: gen);
        var w = randn(new long[] { 3, 2 }, dtype: float64, generator: gen).requires_grad_();

        Loss(w, x, y).backward();
        var analytic = w.grad!.clone();

        const double h = 1e-6;
        using (no_grad())
        {
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 2; j++)
                {
                    var wp = w.clone(); wp[i, j] += h;
                    var wm = w.clone(); wm[i, j] -= h;
                    double numeric = (Loss(wp, x, y).item<double>() - Loss(wm, x, y).item<double>()) / (2 * h);
                    Assert.Equal(numeric, analytic[i, j].item<double>(), 6);
                }
        }
        Assert.True(analytic.abs().sum().item<double>() > 1e-3, "gradient should not be trivially zero");
    }

    [Fact]
    public void OneSgdStepLowersTheLoss()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var x = randn(new long[] { 16, 4 }, generator: gen);
        var y = randn(new long[] { 16, 2 }, generator: gen);
        var w = new TorchSharp.Modules.Parameter(randn(new long[] { 4, 2 }, generator: gen));
        var opt = optim.SGD(new[] { w }, 0.05);
        var before = Loss(w, x, y).item<float>();
        for (int i = 0; i < 5; i++)
        {
            opt.zero_grad();
            Loss(w, x, y).backward();
            opt.step();
        }
        Assert.True(Loss(w, x, y).item<float>() < before);
    }
}
