import Foundation
import Testing
import Tessera

/// Examples/ is a package of its own that depends on Tessera as users' packages do, through
/// the library product: only the public API is in reach, with no `@testable` and no
/// `package` access. Its programs are docs/library.md's classifier and README.md's
/// library example.
@Suite("Examples/: programs that depend on the Tessera package")
struct ExamplePackageTests {
    static let examples = URL(fileURLWithPath: "\(#filePath)")
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples")

    @Test("the classifier and the segmenter build against the Tessera product, run and learn")
    func examplesLearn() throws {
        let swift = URL(fileURLWithPath: "/usr/bin/env")
        // A cached build manifest of Examples/ would still list the files Tessera had when
        // it was last built there, and fail after a source file was added or renamed.
        let build = try TesseraProcess.run(
            swift, ["swift", "build", "-c", "release", "--disable-build-manifest-caching", "--package-path", Self.examples.path])
        try #require(build.status == 0, "swift build of Examples/ failed:\n\(build.output)")
        let programs = Self.examples.appendingPathComponent(".build/release")

        let classifier = try TesseraProcess.run(programs.appendingPathComponent("classifier"), [])
        #expect(classifier.status == 0, "\(classifier.output)")
        let accuracy = classifier.output.split(separator: "\n").compactMap { line in
            line.hasPrefix("test accuracy ") ? Double(line.dropFirst("test accuracy ".count)) : nil
        }
        #expect(accuracy.count == 1 && accuracy[0] >= 0.95, "\(classifier.output)")

        let folder = try Fixtures.temporaryFolder()
        let segmenter = try TesseraProcess.run(programs.appendingPathComponent("segmenter"), [], in: folder)
        #expect(segmenter.status == 0, "\(segmenter.output)")
        let losses = segmenter.output.split(separator: "\n").compactMap { line in
            line.hasPrefix("step ") ? line.split(separator: " ").last.flatMap { Float($0) } : nil
        }
        #expect(losses.count == 5 && losses[4] < 0.5 * losses[0], "\(segmenter.output)")
        let saved = try SafeTensors.read(from: folder.appendingPathComponent("tiny.safetensors"))
        #expect(saved.tensors["features.0.weight"]?.shape == [8, 1, 3, 3])
        #expect(saved.tensors["classifier.weight"]?.shape == [1, 8, 1, 1])
    }
}
