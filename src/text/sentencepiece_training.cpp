// sentencepiece training through the shim: the sentences and the model cross the C API in
// memory (no temporary files, whose paths would end up inside the model).
#include "recap/text/sentencepiece_training.h"

#include <algorithm>
#include <memory>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/text/clip_text.h"
#include "spm_shim_api.h"

namespace recap::text {

void train_sentencepiece(const std::vector<std::string>& sentences, const std::filesystem::path& model_path,
                         const SentencePieceOptions& options) {
  const std::string& type = options.model_type;
  if (type != "unigram" && type != "bpe" && type != "word" && type != "char")
    throw UsageError("sentencepiece model type must be unigram, bpe, word or char, got '" + type + "'");
  if (options.vocab_size < 4)
    throw UsageError("sentencepiece vocabulary size must be at least 4 (the special pieces), got " +
                     std::to_string(options.vocab_size));
  if (sentences.empty()) throw InputError(model_path.string() + ": no sentences to train the sentencepiece model on");

  // sentencepiece reads one sentence per line from files; keep the same meaning here.
  std::vector<std::string> lines;
  lines.reserve(sentences.size());
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    check_utf8(sentences[i], "sentence " + std::to_string(i + 1));
    std::string line = sentences[i];
    std::replace_if(line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    lines.push_back(std::move(line));
  }
  std::vector<const char*> texts;
  std::vector<std::size_t> lengths;
  for (const auto& line : lines) {
    texts.push_back(line.data());
    lengths.push_back(line.size());
  }

  // T5's spiece.model: <pad> 0, </s> 1, <unk> 2, no <s>. One thread and full character
  // coverage make the result depend on the sentences alone. (The shim silences
  // sentencepiece's logging; its errors come back as the status.)
  const std::string args = "--model_type=" + type + " --vocab_size=" + std::to_string(options.vocab_size) +
                           " --hard_vocab_limit=false --character_coverage=1.0 --num_threads=1"
                           " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1";
  const auto seed = static_cast<unsigned>(options.seed % 0xFFFFFFFFull);

  const detail::SpmShimApi& api = detail::spm_shim();
  char error[1024] = {};
  std::size_t size = 0;
  char* model = api.train(args.c_str(), texts.data(), lengths.data(), texts.size(), seed, &size, error, sizeof error);
  if (model == nullptr) {
    std::string message = error;
    std::replace(message.begin(), message.end(), '\n', ' ');
    throw InputError(model_path.string() + ": sentencepiece training failed (" + message + ")");
  }
  const std::unique_ptr<char, void (*)(char*)> owned(model, api.free_string);
  io::AtomicFile out(model_path);
  out.write(model, size);
  out.commit();
}

}  // namespace recap::text
