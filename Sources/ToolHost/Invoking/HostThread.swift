import CToolHostShims

import Glibc

/// Threads of the host's own (never the cooperative pool): detached, named, with an explicit stack.
enum HostThread {
    /// Starts a detached thread that runs `body`.
    /// - Parameters:
    ///   - name: shown by `top -H` and debuggers (15 bytes kept).
    ///   - stackSize: 8 MiB by default, like a main thread: plugin code may recurse deeply.
    /// - Returns: false when the system refused a new thread (a resource limit).
    @discardableResult
    static func start(named name: String, stackSize: Int = 8 << 20, _ body: @escaping () -> Void) -> Bool {
        final class Box {
            let name: String
            let body: () -> Void
            init(name: String, body: @escaping () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, stackSize)
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                toolhost_shim_set_thread_name(box.name)
                box.body()
                return nil
            }, box)
        if result != 0 { Unmanaged<Box>.fromOpaque(box).release() }
        return result == 0
    }
}
