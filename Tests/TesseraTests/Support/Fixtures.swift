import Foundation
import Tessera

/// Access to the committed reference files in `Tests/TesseraTests/Fixtures/`.
enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    /// The fixture's path in the source tree, where record mode writes.
    static func sourceURL(_ name: String, file: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> SafeTensors {
        try SafeTensors.read(from: url(name))
    }

    /// A fresh empty folder for a test's files, inside ``temporaryRoot``.
    static func temporaryFolder() throws -> URL {
        let folder = temporaryRoot.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The one folder that holds every test folder of this test process, removed with
    /// everything in it when the process exits.
    private static let temporaryRoot: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-tests-\(UUID().uuidString)")
        atexit { try? FileManager.default.removeItem(at: Fixtures.temporaryRoot) }
        return root
    }()
}

extension SafeTensors {
    /// The tensors whose names start with `prefix.`, with the prefix removed.
    func withPrefix(_ prefix: String) -> SafeTensors {
        var result = SafeTensors()
        for (name, tensor) in tensors where name.hasPrefix(prefix + ".") {
            result.tensors[String(name.dropFirst(prefix.count + 1))] = tensor
        }
        for (name, tensor) in integerTensors where name.hasPrefix(prefix + ".") {
            result.integerTensors[String(name.dropFirst(prefix.count + 1))] = tensor
        }
        return result
    }
}
