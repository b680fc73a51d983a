// Supplies std::ios_base_library_init() (GLIBCXX_3.4.32, GCC 13) for systems whose libstdc++ stops
// at 3.4.30/3.4.31 (Debian 12, Ubuntu 22.04). GCC 13 objects only reference the symbol to pull in the
// library's own iostream initialisation; older libstdc++ does that initialisation per translation unit,
// so this library constructs one std::ios_base::Init object at load time and the function does nothing.
// Rebuild: g++ -shared -fPIC -O2 -s -o libmtk_glibcxx_shim.so glibcxx_shim.cpp
#include <ios>

namespace { std::ios_base::Init shim_iostream_init; }

namespace std { void ios_base_library_init() {} }
