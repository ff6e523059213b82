import CToolHost

/// The ABI version this host implements (from `toolhost.h`).
public enum HostABI {
    public static let major = Int(TOOLHOST_ABI_MAJOR)
    public static let minor = Int(TOOLHOST_ABI_MINOR)
    /// The exported entry symbol every plugin library must have.
    public static let entrySymbol = TOOLHOST_ENTRY_SYMBOL
}
