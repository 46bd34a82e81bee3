import Foundation
import Testing
import Tessera
import TesseraSegmentation

/// The rows of docs/errors.md that are not covered next to their subject.
@Suite("bad input is a clear error")
struct BadInputTests {
    static func smallModel(width: Int = 4) -> UNet {
        var generator = RandomGenerator(seed: 1)
        return UNet(UNetConfiguration(width: width, depth: 2), generator: &generator)
    }

    /// The weights of ``smallModel()`` (width 4) as a file whose metadata describes a U-Net
    /// of `width`, after `edit`.
    static func checkpointFile(describingWidth width: Int, edit: (inout SafeTensors) -> Void = { _ in }) throws -> URL {
        var file = smallModel().stateDictionary()
        file.metadata["model"] = #"{"bilinear":false,"classes":1,"depth":2,"inputChannels":1,"width":"# + "\(width)}"
        edit(&file)
        let url = try Fixtures.temporaryFolder().appendingPathComponent("checkpoint.safetensors")
        try file.write(to: url)
        return url
    }

    @Test("a checkpoint without model metadata is read as a state_dict: its U-Net is inferred, or its first misfit named")
    func missingMetadata() throws {
        let folder = try Fixtures.temporaryFolder()
        let plain = folder.appendingPathComponent("plain.safetensors")
        try Self.smallModel().stateDictionary().write(to: plain)
        #expect(try Checkpoint.read(from: plain).model.configuration == Self.smallModel().configuration)
        var file = Self.smallModel().stateDictionary()
        file.tensors["outc.conv.weight"] = .zeros([1, 5, 1, 1])
        let misfit = folder.appendingPathComponent("misfit.safetensors")
        try file.write(to: misfit)
        #expect {
            try Checkpoint.read(from: misfit)
        } throws: { error in
            (error as? CheckpointError)?.reason.contains("outc.conv.weight has shape [1, 5, 1, 1], expected [classes, 4, 1, 1]") == true
        }
    }

    @Test("metadata describing a different architecture than the tensors is reported tensor by tensor")
    func architectureMismatch() throws {
        let url = try Fixtures.temporaryFolder().appendingPathComponent("mismatch.safetensors")
        var file = Self.smallModel(width: 4).stateDictionary()
        file.metadata["model"] = #"{"bilinear":false,"classes":1,"depth":2,"inputChannels":1,"width":8}"#
        try file.write(to: url)
        #expect {
            try Checkpoint.read(from: url)
        } throws: { error in
            guard let error = error as? ModuleLoadingError else { return false }
            return error.shapeMismatches.contains { $0.name == "inc.double_conv.0.weight" && $0.expected == [8, 1, 3, 3] && $0.found == [4, 1, 3, 3] }
                && error.description.contains("mismatch.safetensors")
        }
    }

    @Test("malformed model metadata is named")
    func malformedMetadata() throws {
        let url = try Fixtures.temporaryFolder().appendingPathComponent("bad.safetensors")
        var file = Self.smallModel().stateDictionary()
        file.metadata["model"] = "{\"width\": \"wide\"}"
        try file.write(to: url)
        #expect(throws: CheckpointError.self) { try Checkpoint.read(from: url) }
    }

    @Test("a crop larger than the images and a depth too deep for them are rejected before training")
    func cropAndDepth() throws {
        let folder = try DatasetTests.makeFolder([("a.png", 16, [UInt8](repeating: 0, count: 256)), ("b.png", 16, [UInt8](repeating: 255, count: 256))])
        var configuration = TrainerTests.smallConfiguration(try Fixtures.temporaryFolder())
        configuration.dataPath = folder.path
        configuration.crop = 32
        #expect {
            try Trainer(configuration: configuration).run()
        } throws: { error in
            (error as? TrainingError)?.reason.contains("--crop 32 is larger than the smallest training image") == true
        }
        configuration.crop = nil
        configuration.depth = 5
        #expect {
            try Trainer(configuration: configuration).run()
        } throws: { error in
            (error as? TrainingError)?.reason.contains("less than 2^depth = 32") == true
        }
    }

    @Test("an unwritable destination is an error naming the file, and the previous file survives")
    func unwritableDestination() throws {
        let folder = try Fixtures.temporaryFolder()
        let blocker = folder.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: blocker)
        #expect {
            try AtomicFile.write(Data("new".utf8), to: blocker.appendingPathComponent("last.safetensors"))
        } throws: { error in
            (error as? AtomicFileError)?.description.contains("not-a-folder/last.safetensors") == true
        }
        #expect(try Data(contentsOf: blocker) == Data("x".utf8))
    }

    @Test("a shape mismatch in a library operation stops with the operation and both shapes named")
    func shapeMismatchNamesOperation() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1, 2]) + Tensor([1, 2, 3])
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains("Tensor +: shapes [2] and [3] do not broadcast"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var generator = RandomGenerator(seed: 0)
            let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, generator: &generator)
            _ = conv(Tensor.zeros([1, 1, 8, 8]))
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains("Conv2d: input [1, 1, 8, 8] needs [N, 3, H, W]"))
        }
    }
}
