using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>A parameter-holding folder of named submodules, so checkpoint keys read
/// <c>shared.layers.0.dense.weight</c> or <c>tasks.imdb.head.classifier.bias</c>. It has no forward of its own.</summary>
public sealed class ModuleContainer : nn.Module
{
    readonly List<(string Name, nn.Module Module)> entries = new();

    public ModuleContainer(string name) : base(name) { }

    public IReadOnlyList<(string Name, nn.Module Module)> Children => entries;

    public T Add<T>(string name, T module) where T : nn.Module
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"module name: expected a non-empty name without '.', found '{name}'", nameof(name));
        register_module(name, module);
        entries.Add((name, module));
        return module;
    }
}
