import Foundation
import Glibc
import Tessera

/// An exclusive lock on a run folder, held by one training process for the whole run: a
/// second writer is refused with the holder's process id. The lock is the kernel's
/// (`flock` on `RUN/.lock`), so it ends with its process, however that ends.
final class RunLock {
    static let fileName = ".lock"
    private let descriptor: Int32

    /// Takes the lock of `folder`, or throws naming the process that holds it.
    init(folder: URL) throws {
        let path = folder.appendingPathComponent(Self.fileName).path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(path: path, step: "create", code: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw TrainingError(
                "\(folder.path) is in use by another training run (process \(holder.isEmpty ? "unknown" : holder)); wait for it to end or choose another --out")
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
