/// The few facts about a shared library's ELF header that let the loader refuse a bad file with a clear
/// message before `dlopen` sees it: not ELF at all, built for another machine, or cut short in a copy.
struct ELFHeader {
    enum Problem: Error, Equatable {
        case notELF(firstBytes: String)
        case wrongClass
        case wrongMachine(found: Int)
        case notShared(type: Int)
        case truncated(fileSize: Int, needed: Int)
    }

    let fileType: Int
    let machine: Int

    /// Checks the header and that every table it points to lies inside the file.
    init(_ bytes: [UInt8]) throws(Problem) {
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            let shown = bytes.prefix(8).map { byte in
                (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
            }.joined()
            throw .notELF(firstBytes: shown)
        }
        guard bytes.count >= 64 else { throw .truncated(fileSize: bytes.count, needed: 64) }
        guard bytes[4] == 2, bytes[5] == 1 else { throw .wrongClass }  // 64-bit, little-endian
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func u64(_ offset: Int) -> Int {
            var value = 0
            for index in (0..<8).reversed() { value = value << 8 | Int(bytes[offset + index]) }
            return value
        }
        fileType = u16(16)
        machine = u16(18)
        #if arch(x86_64)
            let hostMachine = 62
        #elseif arch(arm64)
            let hostMachine = 183
        #else
            let hostMachine = machine
        #endif
        guard machine == hostMachine else { throw .wrongMachine(found: machine) }
        guard fileType == 3 else { throw .notShared(type: fileType) }  // ET_DYN
        let programHeaders = u64(32) + u16(54) * u16(56)
        let sectionHeaders = u64(40) + u16(58) * u16(60)
        let needed = max(programHeaders, sectionHeaders)
        guard needed <= bytes.count else { throw .truncated(fileSize: bytes.count, needed: needed) }
    }
}

extension ELFHeader.Problem {
    /// The cause and what to do, for a message that already names the plugin and file.
    var explanation: String {
        switch self {
        case .notELF(let first):
            return "not an ELF shared library (it starts with \"\(first)\"); build it with `cc -shared -fPIC` "
                + "and copy the .so itself, not a script or an archive"
        case .wrongClass:
            return "not a 64-bit little-endian ELF file; build it for this machine"
        case .wrongMachine(let found):
            return "built for another processor (ELF machine \(found)); build it on or for this machine"
        case .notShared(let type):
            return "not a shared library (ELF type \(type)); link it with -shared"
        case .truncated(let size, let needed):
            return "truncated: the file has \(size) bytes but its headers need \(needed); the copy was "
                + "interrupted or the build failed, copy it again"
        }
    }
}
