import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file write that either completes or leaves the previous file untouched.
public enum AtomicFile {
    /// Writes `data` to a temporary file in the destination's folder, flushes it to disk,
    /// and renames it over `url`. A crash or a full disk never leaves a partial `url`.
    ///
    /// - Throws: ``AtomicFileError`` naming the file and the system's reason.
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent().path
        let temporaryPath = folder + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(path: url.path, step: "create", code: errno) }
        var failure: AtomicFileError?
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = AtomicFileError(path: url.path, step: "write", code: errno)
                    return
                }
                written += result
            }
        }
        if failure == nil, fsync(descriptor) != 0 {
            failure = AtomicFileError(path: url.path, step: "flush", code: errno)
        }
        close(descriptor)
        if failure == nil, rename(temporaryPath, url.path) != 0 {
            failure = AtomicFileError(path: url.path, step: "rename", code: errno)
        }
        if let failure {
            unlink(temporaryPath)
            throw failure
        }
    }
}

/// An ``AtomicFile`` write that failed; the destination is as it was before.
public struct AtomicFileError: Error, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// The step that failed: create, write, flush or rename.
    public let step: String
    /// The `errno` value.
    public let code: Int32

    public init(path: String, step: String, code: Int32) {
        (self.path, self.step, self.code) = (path, step, code)
    }

    public var description: String {
        "cannot \(step) \(path): \(String(cString: strerror(code))) (the previous file, if any, is intact)"
    }
}
