#pragma once
// The text normalisation OpenAI's CLIP tokenizer applies before BPE, one step per
// function so that each can be checked against its Python counterpart:
//   basic_clean:      ftfy.fix_text, html.unescape twice, strip
//   whitespace_clean: every run of Unicode whitespace becomes one space, strip
//   then str.lower().
// Strings are UTF-8; invalid UTF-8 is refused with an InputError.
#include <string>
#include <string_view>

namespace recap::text {

// Python's html.unescape: HTML5 named references (with the longest-prefix rule for
// names without ';'), decimal and hex references with the HTML5 remapping table.
std::string html_unescape(std::string_view text);

// The parts of ftfy.fix_text (ftfy 6, default settings) that change real captions:
// HTML entities with ';' when the text has no '<', terminal escapes removed, Latin
// ligatures split, full-width forms narrowed, curly quotes straightened, control
// characters dropped, NFC. Mojibake repair (fix_encoding) is not attempted.
std::string ftfy_fix_text(std::string_view text);

// Python's str.strip() and re.sub(r'\s+', ' ', text).strip() with Unicode whitespace
// as str.isspace() defines it.
std::string collapse_whitespace(std::string_view text);

// Python's str.lower(): full Unicode lower-case mapping (final sigma included).
std::string unicode_lower(std::string_view text);

// The whole pipeline: whitespace_clean(basic_clean(text)).lower().
std::string clip_clean_text(std::string_view text);

// Throws InputError("<what>: not valid UTF-8 (byte offset N)") when `text` is not UTF-8.
void check_utf8(std::string_view text, std::string_view what);

}  // namespace recap::text
