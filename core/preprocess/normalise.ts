// Text normalisation of email-hash v2: text that looks the same to a reader gives the same
// tokens, so fullwidth letters, mathematical bold, zero-width splits, soft hyphens and
// Cyrillic/Greek lookalikes inside Latin words no longer hide a message from the model.
// Web-standard only (String.prototype.normalize and Unicode property escapes, no tables
// from npm): this runs at the edge on every text request.

/**
 * A pattern built on its first use. Unicode property escapes cost at start even when unused:
 * a regex literal with \p{...} is checked while the module compiles and made while it
 * evaluates (fresh Node 20: these six literals ~1.5 ms compile + ~0.8 ms evaluation), and
 * ASCII text, the common case, never uses them. Each pattern is still one shared instance.
 */
export function lazyRegExp(source: string, flags: string): () => RegExp {
  let pattern: RegExp | undefined;
  return () => (pattern ??= new RegExp(source, flags));
}

/**
 * Default-ignorable and format characters: zero-width space/joiners (U+200B..U+200D), word
 * joiner (U+2060), BOM (U+FEFF), soft hyphen (U+00AD), bidi controls, tags, variation
 * selectors, Hangul fillers. Invisible in rendered text, so removed rather than kept as
 * word breaks (an attacker puts them inside a word to split it).
 */
const IGNORABLE = lazyRegExp(String.raw`[\p{Cf}\p{Default_Ignorable_Code_Point}]`, 'gu');

/** Combining marks on a Latin letter (after NFD): "café" and "ç" fold to "cafe", "c"; marks on other scripts stay. */
const LATIN_MARKS = lazyRegExp(String.raw`(\p{Script=Latin})\p{M}+`, 'gu');

/** A run of letters, marks and digits: the unit the lookalike fold looks at. */
const WORD_RUN = lazyRegExp(String.raw`[\p{L}\p{M}\p{N}]+`, 'gu');

/**
 * Lookalikes folded to the Latin letter they imitate, position by position: the clear cases
 * of Unicode's confusables.txt for Cyrillic and Greek, plus Latin dotless i, script g and
 * alpha. Upper and lower case each, because the fold runs before lower-casing: a Greek "Η"
 * imitates "H", while its lower case "η" would look like "n". A small table on purpose: spam
 * spoofs English words with these; a full confusables skeleton would be ~6,000 entries on
 * the edge path (and two strings cost a tenth of an object literal in the bundle).
 */
const LOOKALIKE_FROM = 'АВЕКМНОРСТХУЅІЈԀԚԜҺӀЁЇаеорсухѕіјԁԛԝһӏёїΑΒΕΖΗΙΚΜΝΟΡΤΥΧοαινρυκıɡꞬɑⱭ';
const LOOKALIKE_TO = 'ABEKMHOPCTXYSIJDQWHIEIaeopcyxsijdqwhleiABEZHIKMNOPTYXoaivpukigGaA';
const LOOKALIKE = lazyRegExp(`[${LOOKALIKE_FROM}]`, 'gu');
const LATIN_LETTER = lazyRegExp(String.raw`\p{Script=Latin}`, 'u');

/**
 * Folds lookalikes in a word that mixes them with Latin letters ("Vіаgrа" with Cyrillic і
 * and а). A word with no Latin letter is left as it is: "рау" written all in Cyrillic could
 * spoof "pay", but it is also Russian text, and "και" is Greek for "and".
 */
function foldLookalikes(word: string): string {
  return LATIN_LETTER().test(word) ? word.replace(LOOKALIKE(), (c) => LOOKALIKE_TO[LOOKALIKE_FROM.indexOf(c)] as string) : word;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * email-hash v2's normalisation, in order: NFKC (fullwidth, mathematical alphanumerics,
 * ligatures, compatibility spaces), removal of default-ignorable and format characters,
 * the lookalike fold, lower case (toLowerCase, locale-independent: Turkish "İ" becomes
 * "i" + U+0307, whose mark the next step drops; dotless "ı" is in the lookalike table),
 * the two full case foldings toLowerCase lacks that matter here ("ß" → "ss", final "ς" →
 * "σ"), then combining marks on Latin letters dropped and NFKC again. Idempotent. ASCII
 * text only lower-cases (the common case costs one scan).
 */
export function normaliseText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  const folded = text.normalize('NFKC').replace(IGNORABLE(), '').replace(WORD_RUN(), foldLookalikes).toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');
  return folded.normalize('NFD').replace(LATIN_MARKS(), '$1').normalize('NFKC');
}
