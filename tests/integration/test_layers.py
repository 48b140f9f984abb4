"""The library's folders form layers that point one way (docs/architecture.md):
a file under include/cocomix/F/ or src/F/ may include its own folder and the
folders below F, never one above. Every #include "cocomix/..." line of the
library is checked; the apps (above everything) and tests are not."""
import os
import re
import tempfile
import unittest

from cocomix_testlib import SOURCE_DIR

# Bottom to top.
LAYERS = ["util", "io", "config", "data", "dist", "model", "concept", "objective", "eval", "generate", "train", "convert"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"cocomix/([a-z_]+)/', re.MULTILINE)


def library_files(source_dir=SOURCE_DIR):
    """(folder, path) of every header and source of the library."""
    for root in (os.path.join(source_dir, "include", "cocomix"), os.path.join(source_dir, "src")):
        for folder in sorted(os.listdir(root)):
            directory = os.path.join(root, folder)
            if not os.path.isdir(directory):
                continue
            for dirpath, _, names in os.walk(directory):
                for name in sorted(names):
                    if name.endswith((".h", ".cpp")):
                        yield folder, os.path.join(dirpath, name)


def upward_includes(source_dir=SOURCE_DIR):
    """'path: includes cocomix/X/, a layer above F/' for every include that points up."""
    found = []
    for folder, path in library_files(source_dir):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for target in INCLUDE.findall(text):
            if LAYERS.index(target) > LAYERS.index(folder):
                found.append(f"{os.path.relpath(path, source_dir)}: includes cocomix/{target}/, "
                             f"a layer above {folder}/")
    return found


class LayersTest(unittest.TestCase):
    def test_every_folder_has_a_layer(self):
        folders = {folder for folder, _ in library_files()}
        self.assertEqual(sorted(folders - set(LAYERS)), [], "add the new folder to LAYERS and docs/architecture.md")

    def test_no_file_includes_a_folder_above_its_own(self):
        self.assertEqual(upward_includes(), [])

    def test_the_check_finds_an_upward_include(self):
        with tempfile.TemporaryDirectory() as tree:
            for path, text in (("include/cocomix/model/a.h", '#include "cocomix/train/trainer.h"\n'),
                               ("src/train/b.cpp", '#include "cocomix/model/gpt.h"\n#include "cocomix/train/b.h"\n')):
                os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
                with open(os.path.join(tree, path), "w") as f:
                    f.write(text)
            self.assertEqual(upward_includes(tree),
                             ["include/cocomix/model/a.h: includes cocomix/train/, a layer above model/"])


if __name__ == "__main__":
    unittest.main()
