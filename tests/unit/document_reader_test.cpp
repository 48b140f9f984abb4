// data/document_reader.h: input expansion order, JSON-lines rows (bad rows as
// errors naming file:line, or skipped and counted), whole files, blank-line blocks.
#include "cocomix/data/document_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

class DocumentReaderTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.path() + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file_atomically(path, bytes);
    return path;
  }
  static std::vector<InputDocument> read_all(const std::vector<std::string>& files,
                                             DocumentReaderOptions options = {}) {
    DocumentReader reader(files, options);
    std::vector<InputDocument> documents;
    for (InputDocument document; reader.next(document);) documents.push_back(document);
    return documents;
  }
  testing::TempDir dir_{"cocomix_documents"};
};

TEST_F(DocumentReaderTest, ExpandsDirectoriesInSortedOrder) {
  const std::string b = write("corpus/b.txt", "b"), a = write("corpus/sub/a.txt", "a"), c = write("corpus/c.jsonl", "");
  write("corpus/.hidden/x.txt", "hidden");
  write("corpus/.y.txt", "hidden");
  const std::string single = write("single.txt", "s");
  EXPECT_EQ(expand_inputs({single, dir_.path() + "/corpus"}), (std::vector<std::string>{single, b, c, a}));
  try {
    expand_inputs({dir_.path() + "/absent"});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.path() + "/absent: no such file or directory");
  }
}

TEST_F(DocumentReaderTest, JsonLinesRowsAndWholeFiles) {
  const std::string jsonl = write("rows.jsonl", "{\"text\": \"first\"}\n\n{\"id\": 2, \"text\": \"sec\\nond\"}\n");
  const std::string text = write("whole.txt", "all\n\nof it\n");
  const auto documents = read_all({jsonl, text});
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].text, "first");
  EXPECT_EQ(documents[0].line, 1);
  EXPECT_EQ(documents[1].text, "sec\nond");
  EXPECT_EQ(documents[1].line, 3);  // the blank line 2 is no document
  EXPECT_EQ(documents[2].text, "all\n\nof it\n");
  EXPECT_EQ(documents[2].path, text);
  EXPECT_EQ(documents[2].line, 0);
  EXPECT_TRUE(is_jsonl("x.jsonl.zst"));
  EXPECT_FALSE(is_jsonl("x.json"));
}

TEST_F(DocumentReaderTest, BadRowsNameFileAndLineOrAreSkipped) {
  const std::string jsonl = write("bad.jsonl",
                                  "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n{not json\n"
                                  "{\"text\": 7}\n[1]\n{\"text\": \"also ok\"}\n");
  DocumentReaderOptions options;
  DocumentReader strict({jsonl}, options);
  InputDocument document;
  ASSERT_TRUE(strict.next(document));
  try {
    strict.next(document);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              jsonl + ":2: no field \"text\" (choose the field with --text-field) (or pass --skip-bad)");
  }
  options.skip_bad = true;
  DocumentReader lenient({jsonl}, options);
  std::vector<std::string> texts;
  while (lenient.next(document)) texts.push_back(document.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"ok", "also ok"}));
  EXPECT_EQ(lenient.skipped_rows(), 4);
  options.skip_bad = false;
  options.text_field = "body";
  DocumentReader other_field({jsonl}, options);
  try {
    other_field.next(document);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              jsonl + ":1: no field \"body\" (choose the field with --text-field) (or pass --skip-bad)");
  }
  const std::string not_json = write("notjson.jsonl", "{\"text\": \"a\"}\n{not json\n");
  DocumentReader broken({not_json}, {});
  ASSERT_TRUE(broken.next(document));
  try {
    broken.next(document);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(not_json + ":2: not valid JSON: ", 0), 0u) << e.what();
  }
}

TEST_F(DocumentReaderTest, BlankLineBlocks) {
  const std::string text = write("blocks.txt", "\n\none\nstill one\n \t\r\ntwo\r\n\n\n\nthree");
  DocumentReaderOptions options;
  options.blocks = true;
  const auto documents = read_all({text}, options);
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].text, "one\nstill one");
  EXPECT_EQ(documents[0].line, 3);
  EXPECT_EQ(documents[1].text, "two\r");
  EXPECT_EQ(documents[1].line, 6);
  EXPECT_EQ(documents[2].text, "three");
}

}  // namespace
}  // namespace cocomix
