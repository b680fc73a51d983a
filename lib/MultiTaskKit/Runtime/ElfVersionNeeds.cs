using System.Buffers.Binary;
using System.Text;

namespace MultiTaskKit.Runtime;

/// <summary>
/// Reads and edits the version-needs section (<c>SHT_GNU_verneed</c>) of a 64-bit little-endian ELF
/// shared library. Only one edit is offered: marking a needed version weak (<c>VER_FLG_WEAK</c>), which
/// makes the dynamic linker accept a library that lacks that version instead of refusing to load.
/// </summary>
internal static class ElfVersionNeeds
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>One needed version: the library it is needed from, its name and its flags.</summary>
    public readonly record struct Need(string File, string Version, bool Weak, int FlagsOffset);

    /// <summary>Lists every needed version in <paramref name="elf"/>.</summary>
    public static IReadOnlyList<Need> Read(ReadOnlySpan<byte> elf, string what = "ELF image")
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{what}: expected an ELF file, found no ELF magic.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{what}: expected a 64-bit little-endian ELF file, found class {elf[4]}, data {elf[5]}.");

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        ushort shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var needs = new List<Need>();
        for (int i = 0; i < shnum; i++)
        {
            var sh = elf[checked((int)shoff + i * shentsize)..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            int offset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]));
            uint link = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            var strtab = elf[checked((int)shoff + (int)link * shentsize)..];
            int strOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]));

            int vn = offset;
            while (true)
            {
                ushort cnt = BinaryPrimitives.ReadUInt16LittleEndian(elf[(vn + 2)..]);
                uint file = BinaryPrimitives.ReadUInt32LittleEndian(elf[(vn + 4)..]);
                uint aux = BinaryPrimitives.ReadUInt32LittleEndian(elf[(vn + 8)..]);
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(elf[(vn + 12)..]);
                string fileName = CString(elf, strOffset + (int)file);
                int va = vn + (int)aux;
                for (int j = 0; j < cnt; j++)
                {
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[(va + 4)..]);
                    uint name = BinaryPrimitives.ReadUInt32LittleEndian(elf[(va + 8)..]);
                    uint vnaNext = BinaryPrimitives.ReadUInt32LittleEndian(elf[(va + 12)..]);
                    needs.Add(new Need(fileName, CString(elf, strOffset + (int)name), (flags & VerFlgWeak) != 0, va + 4));
                    if (vnaNext == 0) break;
                    va += (int)vnaNext;
                }
                if (next == 0) break;
                vn += (int)next;
            }
        }
        return needs;
    }

    /// <summary>Marks every need of <paramref name="version"/> weak, in place. Returns how many entries changed.</summary>
    public static int MarkWeak(Span<byte> elf, string version, string what = "ELF image")
    {
        int changed = 0;
        foreach (var need in Read(elf, what))
        {
            if (need.Version != version || need.Weak) continue;
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[need.FlagsOffset..]);
            BinaryPrimitives.WriteUInt16LittleEndian(elf[need.FlagsOffset..], (ushort)(flags | VerFlgWeak));
            changed++;
        }
        return changed;
    }

    static string CString(ReadOnlySpan<byte> elf, int start)
    {
        int end = elf[start..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(elf.Slice(start, end));
    }
}
