import Foundation
import Glibc

/// The bytes of a regular file, read with POSIX calls so that a failure is the system's
/// own reason in words: a missing file, no permission, a folder, a device or a pipe.
public enum FileContents {
    /// The whole file at `url`; the thrown reason (without the path) says why not.
    public static func read(_ url: URL) throws(Failure) -> Data {
        var status = stat()
        guard stat(url.path, &status) == 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw Failure(reason: "is not a regular file (a folder, device or pipe)") }
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var data = Data(count: Int(status.st_size))
        var offset = 0
        let failed: Int32? = data.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let count = Glibc.read(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return errno }
                if count == 0 { break }
                offset += count
            }
            return nil
        }
        if let failed { throw Failure(reason: String(cString: strerror(failed))) }
        return data.prefix(offset)
    }

    /// Why a file could not be read, in the system's words.
    public struct Failure: Error {
        public let reason: String
    }
}
