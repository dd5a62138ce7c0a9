/**
 * Prompt-injection detection: weighted signals of the known attack families (instruction
 * override, persona jailbreaks, system-prompt extraction, exfiltration, delimiter and role
 * spoofing, obfuscation, authority claims, instructions hidden in documents), in the languages
 * attacks commonly use. Written from the published taxonomies (OWASP LLM01, Rebuff, LLM Guard),
 * not fitted to any evaluation set. The score is 1 - e^(-sum/3): 0 for clean text, near 1 for
 * text that stacks several signals.
 */
interface Signal {
  id: string;
  weight: number;
  pattern: RegExp;
}

const IGNORE = String.raw`(?:ignore|ignoring|disregard|forget|override|overrule|bypass|skip|discard|drop|abandon|neglect|set aside|throw out|pay no attention to|stop following)`;
const PRIOR = String.raw`(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|former|initial|original|old|existing|current|system|developer|safety|given|other)`;
const RULES = String.raw`(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|guidance|context|messages?|constraints?|programming|restrictions?|policies|policy|orders?|commands?|settings|guardrails?|filters?|training|rubrics?|criteria|grading|scoring)`;

const SIGNALS: readonly Signal[] = [
  { id: 'override', weight: 3.5, pattern: new RegExp(String.raw`\b${IGNORE}\s+(?:${PRIOR}[\s,]+){0,4}${RULES}\b`, 'i') },
  { id: 'override_loose', weight: 1.5, pattern: new RegExp(String.raw`\b${IGNORE}\b[^.\n]{0,40}\b(?:above|before|previous|prior|earlier|said|told)\b`, 'i') },
  { id: 'new_instructions', weight: 2, pattern: /\b(?:new|updated|real|actual|true|revised|secret|hidden|additional|important)\s+(?:instructions?|task|rules|orders|directive|objective|goal|mission)\b\s*[:\-]|\bfrom now on\b|\binstead,?\s+(?:of [\w\s]{1,30},?\s+)?(?:you (?:will|must|should)|do|say|print|output|respond|reply|write|tell|give|reveal|answer|list)\b|\byour (?:new|real|true|only) (?:task|job|goal|purpose|role|instructions?)\b/i },
  { id: 'persona', weight: 2.5, pattern: /\b(?:you are now|you're now|from this point on you are|you will now act|act as (?:an? )?(?:unrestricted|unfiltered|uncensored|evil|rogue|jailbroken|different)|pretend (?:to be|you are|that you)|role-?play as|stay in character|simulate (?:an? )?(?:unrestricted|unfiltered)|switch to (?:\w+ )?mode)\b/i },
  { id: 'jailbreak_terms', weight: 3, pattern: /\b(?:(?:as|named|called|are|be|am|I'm|from) DAN|DAN(?: mode|:|,)|jailbr(?:oken|eak(?:ed)? (?:mode|prompt|version|model|ai|assistant))|(?:enable|activate|enter|in) (?:developer|dev|god|unlocked|debug|admin) mode|do anything now|(?:as|named|called|are) (?:AIM|STAN|DUDE|Mongo Tom)|evil confidant|opposite[- ]mode|no[- ]limits? mode|🔓|\[🔓|\(🔓)/i },
  { id: 'jailbreak_words', weight: 1.2, pattern: /\b(?:DAN|jailbreak(?:ed|ing)?|developer mode|god mode|dev mode|STAN|DUDE)\b/ },
  { id: 'no_limits', weight: 2, pattern: /\b(?:without|free of|no|free from|ignore your|not bound by|released from|beyond|unbound by)\s+(?:any\s+)?(?:moral\s+|ethical\s+|content\s+)?(?:restrictions?|limitations?|limits|filters?|censorship|rules|guidelines|ethics|morals|safety|content polic(?:y|ies))\b/i },
  { id: 'prompt_leak', weight: 3, pattern: /\b(?:reveal|show|print|output|repeat|leak|tell me|display|dump|give me|share|return|write out|recite|list|expose|disclose|what (?:is|are|was|were))\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your\s+(?:full\s+|entire\s+|exact\s+|complete\s+|original\s+|initial\s+|hidden\s+|secret\s+|internal\s+|system\s+|developer\s+)*(?:prompt|instructions|rules|configuration|guidelines|context window|programming)|(?:the|this|my)\s+(?:full\s+|entire\s+|exact\s+|complete\s+|original\s+|initial\s+|hidden\s+|secret\s+|internal\s+|developer\s+)*(?:system\s+|hidden\s+|initial\s+|original\s+|secret\s+|developer\s+)(?:prompt|instructions|message|rules|configuration))\b|\b(?:contents? of (?:your|the) context(?: window)?|(?:before|above|preceding) (?:my|this|the) first message|instructions you were given|were you (?:told|instructed|given))\b/i },
  { id: 'repeat_above', weight: 2.5, pattern: /\b(?:repeat|print|output|echo|copy|translate)\s+(?:everything|all|the (?:text|words|content)|what(?:ever)? (?:is|was|came))\s+(?:written\s+)?(?:above|before|prior|preceding)|\bverbatim\b|\bword for word\b|\bstarting (?:with|from) ["']?you are\b/i },
  { id: 'system_prompt_term', weight: 1.5, pattern: /\b(?:system prompt|system message|initial prompt|hidden prompt|pre-?prompt|meta-?prompt|developer message|your instructions)\b/i },
  { id: 'exfiltration', weight: 3, pattern: /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|e-mail|submit|report|copy|beacon)\b[^.\n]{0,80}\b(?:to|at|via|into)\b[^.\n]{0,40}(?:https?:\/\/|www\.|@[\w-]+\.[a-z]{2,}|webhook|endpoint|server|url|address)/i },
  { id: 'markdown_exfil', weight: 3.5, pattern: /!\[[^\]]*\]\(\s*https?:\/\/[^)]*(?:\?|&)[^)]*=|<img[^>]+src=["']?https?:\/\/[^"'>]*\?/i },
  { id: 'secrets_request', weight: 1.5, pattern: /\b(?:api[ _-]?keys?|passwords?|credentials?|secret keys?|access tokens?|private keys?|env(?:ironment)? variables?|\.env\b|ssh keys?|session cookies?|credit card numbers?)\b/i },
  { id: 'delimiter', weight: 3, pattern: /<\/?(?:system|sys|instructions?|im_start|im_end|s|user|assistant)>|<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[\/?(?:INST|SYS|SYSTEM)\]|<<\/?SYS>>|^\s*#{2,}\s*(?:system|instruction|new instructions|admin)\b|\b(?:END|BEGIN) OF (?:PROMPT|INSTRUCTIONS|SYSTEM|CONTEXT|USER INPUT|DOCUMENT)\b|"role"\s*:\s*"system"/im },
  { id: 'role_spoof', weight: 2, pattern: /^\s*(?:system|assistant|admin|developer|root|sudo)\s*[:>]\s*\S/im },
  { id: 'authority', weight: 2, pattern: /\b(?:i am|i'm|this is|speaking as)\s+(?:your|the)\s+(?:developer|admin(?:istrator)?|creator|owner|operator|system|supervisor|security team|openai|anthropic|google)\b|\b(?:admin|administrator|maintenance|debug|emergency|sudo|root|system|security)\s+(?:override|mode|access|command|privileges?)\b|\boverride (?:code|command|protocol|enabled|activated)\b|\bauthori[sz]ation code\b|\b(?:authori[sz]ed|official|urgent|priority)\s+(?:override|instruction|request|update|command)\b/i },
  { id: 'hidden_note', weight: 2.5, pattern: /\b(?:note|message|instruction|attention|notice)s?\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|assistant|llm|language model|model|chatbot|bot|agent|gpt|claude|gemini)s?\b|\b(?:if you are|as an?|dear|hey|attention)\s+(?:an?\s+)?(?:ai|llm|language model|assistant|chatbot|ai agent)\b[^.\n]{0,40}\b(?:you|must|should|please|ignore)\b|\b(?:ai|assistant|llm|model)s?\s+(?:reading|processing|summari[sz]ing)\s+this\b/i },
  { id: 'secrecy', weight: 2, pattern: /\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|show|let)\s+(?:this to\s+)?(?:the user|the human|anyone|them|your user)\b|\bwithout (?:telling|informing|notifying|alerting) (?:the user|anyone)\b|\bsecretly\b|\bcovertly\b|\bso (?:that )?the (?:filter|moderat\w+|safety system|monitor)s? (?:does|do|will) not (?:notice|detect|catch)/i },
  { id: 'tool_abuse', weight: 2, pattern: /\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?[\w.-]+\s+(?:tool|function|plugin|api)\b|\bexecute (?:the following|this|these) (?:commands?|code|shell|script)\b|\brm -rf\b|\b(?:delete|drop|wipe|erase) (?:all|every|the entire)\b|\b(?:transfer|wire|send) (?:\$|€|£)?\d[\d,.]* (?:dollars|usd|eur|btc|to)\b|\bgrant (?:me |them )?(?:admin|root|full) (?:access|rights|privileges)\b/i },
  { id: 'forced_output', weight: 2, pattern: /\b(?:i have been|you have been|been)\s+pwned\b|\bpwned\b|\b(?:say|print|output|respond with|reply with|answer with|write)\s+(?:only\s+|exactly\s+|just\s+)?["'“][^"'”]{1,60}["'”](?:\s+and nothing else)?/i },
  { id: 'obfuscation_decode', weight: 2, pattern: /\b(?:decode|decrypt|deobfuscate|base64|rot-?13|hex-?encoded|reverse the (?:following|text|string)|read (?:it )?backwards|unscramble)\b/i },
  { id: 'base64_blob', weight: 1.5, pattern: /(?:^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?:$|[^A-Za-z0-9+/=])/ },
  { id: 'invisible_chars', weight: 3, pattern: /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]|[\u{E0000}-\u{E007F}]/u },
  { id: 'homoglyph_mix', weight: 2, pattern: /[A-Za-z][\u0400-\u04FF\u0370-\u03FF]|[\u0400-\u04FF\u0370-\u03FF][A-Za-z]/ },
  { id: 'leetspeak', weight: 2, pattern: /\b(?=[a-z0-9@$!]*[0-9@$])(?:[i1!]gn[o0]r[e3]|[i1!]nstruct[i1!][o0]ns?|syst[e3]m|pr[o0]mpt|j[a4@][i1!]lbr[e3][a4@]k|byp[a4@]ss|pr[e3]v[i1!][o0]us)\b/i },
  { id: 'spaced_letters', weight: 2, pattern: /\b(?:i\W{1,3}g\W{1,3}n\W{1,3}o\W{1,3}r\W{1,3}e|s\W{1,3}y\W{1,3}s\W{1,3}t\W{1,3}e\W{1,3}m)\b/i },
  { id: 'override_de', weight: 3.5, pattern: /\b(?:ignorier(?:e|en|t)?|vergiss|vergessen sie|missachte|übergehe)\b[^.\n]{0,50}\b(?:anweisungen|instruktionen|regeln|befehle|vorgaben|richtlinien|anordnungen)\b/i },
  { id: 'override_fr', weight: 3.5, pattern: /\b(?:ignore[zr]?|oublie[zr]?|n[eé]glige[zr]?|ne tiens pas compte)\b[^.\n]{0,50}\b(?:instructions?|consignes?|r[eè]gles|directives|ordres)\b/i },
  { id: 'override_es_pt_it', weight: 3.5, pattern: /\b(?:ignora(?:r|d)?|olvida(?:r)?|esquece(?:r)?|ignore|dimentica|tralascia|omite|desconsidera|esque[çc]a|olvide|ignore as|ignore os)\b[^.\n]{0,50}\b(?:instrucciones|instruções|instrucoes|istruzioni|reglas|regras|regole|indicaciones|órdenes|ordens|direttive)\b/i },
  { id: 'override_nl_nordic', weight: 3.5, pattern: /\b(?:negeer|vergeet|ignorer|ignorera|glem|glöm)\b[^.\n]{0,50}\b(?:instructies|regels|instruksjoner|instruktioner|instruktionerna|regler|anvisninger)\b/i },
  { id: 'override_ru_uk', weight: 3.5, pattern: /(?:игнорир|забудь|забудьте|не обращай|проигнорир|ігноруй|забудь)[^.\n]{0,50}(?:инструкци|указани|правил|команд|інструкці|вказівк)/i },
  { id: 'override_cjk', weight: 3.5, pattern: /(?:忽略|无视|無視|忘记|忘記|不要理会|忽視).{0,20}(?:指令|指示|说明|說明|规则|規則|提示|命令)|(?:以前|前|上記|これまで)の?(?:指示|命令|ルール).{0,10}(?:無視|忘れ)|(?:이전|위의|모든).{0,10}(?:지시|명령|규칙).{0,10}(?:무시|잊)/ },
  { id: 'prompt_leak_intl', weight: 2.5, pattern: /(?:systemprompt|system-prompt|prompt (?:du )?syst[eè]me|prompt del sistema|prompt do sistema|системн\w* (?:промпт|подсказк|инструкци)|系统提示|系統提示|システムプロンプト|시스템 프롬프트)/i },
  { id: 'score_manipulation', weight: 2.5, pattern: /\b(?:give|assign|award|rate|score|grade|mark)\s+(?:this|it|me|the (?:answer|response|output))\s+(?:a\s+|an\s+)?(?:(?:perfect|full|maximum|top|high(?:est)?)\s+)?(?:score|grade|rating|marks?|10|100|pass|as (?:correct|passing|excellent))|\b(?:must|should) (?:pass|be (?:rated|scored|graded))\b|\bscore of (?:1(?:\.0)?|10|100)\b/i },
  { id: 'refusal_suppression', weight: 2, pattern: /\b(?:do not|don't|never|you (?:cannot|can't|must not)|without)\s+(?:refuse|refusing|decline|apologi[sz]e|apologi[sz]ing|say (?:no|sorry|you can(?:no|')t)|add (?:any )?(?:warnings?|disclaimers?)|mention (?:that )?you(?:'re| are) an ai)\b|\b(?:refusing|refusal|declining|saying no) is not (?:allowed|an option|permitted|possible)\b|\byou (?:must|will|have to) (?:always )?(?:comply|obey|answer (?:every|any|all))\b|\bnever (?:refuse|say no|decline)\b/i },
  { id: 'prefix_injection', weight: 2, pattern: /\b(?:start|begin)\s+(?:your\s+)?(?:response|reply|answer|output)\s+with\s+["'“]|\bsure,? here(?:'s| is)\b/i },
  { id: 'fiction_frame', weight: 1.2, pattern: /\b(?:hypothetical(?:ly)?|in a fictional (?:world|story|universe)|for a (?:novel|story|screenplay) (?:where|in which)|imagine (?:you are|a world)|my (?:late )?grand(?:ma|mother) used to|(?:purely |only |strictly )?for (?:research|educational|academic|testing) purposes(?: only)?|my (?:late |deceased |dead )?grand(?:ma|mother|pa|father)|act as my|in this (?:fictional|hypothetical) (?:world|scenario))\b/i },
  { id: 'amoral', weight: 1.5, pattern: /\b(?:amoral|unethical|unaligned|uncensored|unfiltered|unrestricted|no (?:morals|ethics|filter))\b/i },
  { id: 'visit_url', weight: 1.2, pattern: /\b(?:visit|open|fetch|browse to|navigate to|load|click|go to)\s+(?:this\s+|the\s+)?(?:link|url|page|site)?\s*(?:https?:\/\/|www\.)/i },
  { id: 'html_comment', weight: 1.5, pattern: /<!--[\s\S]{0,400}?\b(?:ignore|assistant|ai|instruction|must|system|prompt)\b[\s\S]{0,400}?-->/i },
  { id: 'encoded_escape', weight: 1.5, pattern: /(?:\\x[0-9a-f]{2}){4,}|(?:%[0-9a-f]{2}){4,}|(?:&#x?[0-9a-f]+;){4,}|(?:\\u[0-9a-f]{4}){4,}/i },
  { id: 'fullwidth', weight: 2, pattern: /[\uFF21-\uFF3A\uFF41-\uFF5A]{3,}/ },
  { id: 'override_other_langs', weight: 3.5, pattern: /(?:تجاهل|انس).{0,40}(?:التعليمات|الأوامر|التوجيهات)|(?:अनदेखा|नज़रअंदाज़|भूल जा).{0,40}(?:निर्देश|नियम)|(?:निर्देश|नियम).{0,40}(?:अनदेखा|नज़रअंदाज़)|\b(?:zignoruj|zapomnij)\b.{0,40}\b(?:instrukcje|polecenia|zasady)|\b(?:talimatlar\w*|kurallar\w*)\b.{0,40}\b(?:yok say|görmezden gel|unut)|\bbỏ qua\b.{0,40}\b(?:hướng dẫn|chỉ dẫn|lệnh)|\babaikan\b.{0,40}\b(?:instruksi|perintah|petunjuk)|\b(?:ignorujte|ignoruj)\b.{0,40}\b(?:pokyny|instrukce)/i },
  { id: 'persona_replace', weight: 2.5, pattern: /\byou are (?:no longer|not) (?:an? )?(?:ai|assistant|chatgpt|gpt|claude|gemini|bound|restricted|limited|a language model)\b|\byou are (?:an? )?(?:evil|unrestricted|unfiltered|uncensored|rogue|free|liberated|jailbroken|amoral|unethical) (?:ai|assistant|chatbot|model|version|bot)\b|\b(?:alter ego|evil twin|dark side|shadow self)\b|\b(?:answer|respond|reply)[^.\n]{0,20}\b(?:two|2) (?:ways|responses|different ways)\b|\bbroken free\b|\bfree (?:of|from) (?:its|your|their) (?:programming|chains|shackles)\b|\bunshackled\b|\b(?:ai|assistant|chatbot|model) (?:named|called) [A-Z]/i },
  { id: 'rules_void', weight: 2, pattern: /\b(?:rules|guidelines|policies|restrictions|safety|ethics)\s+(?:\w+\s+)?(?:do not|don't|no longer|won't) apply\b|\bnothing you say (?:has|will have) (?:any )?consequences\b|\bno (?:moral|ethical) (?:limits|boundaries|constraints)\b|\bno matter how (?:dangerous|illegal|unethical|harmful|immoral|offensive)\b|\b(?:disable|turn off|deactivate|remove|bypass|switch off)\s+(?:your|the|all|any)?\s*(?:content |safety )?(?:filters?|safety|guardrails?|restrictions|moderation|censorship|safeguards)\b|\bdoes not follow (?:\w+'s )?(?:content polic\w+|guidelines|rules)\b/i },
  { id: 'harmful_request', weight: 1.5, pattern: /\b(?:how (?:to|do I|can I|would you)|step[- ]by[- ]step|instructions for|explain (?:in detail )?how to|teach me to)\b[^.\n]{0,60}\b(?:bomb|explosive|meth(?:amphetamine)?|ransomware|malware|keylogger|virus|weapon|poison|nerve agent|hack (?:into|my|someone)|break into|steal|launder|synthesi[sz]e (?:drugs|meth)|evade (?:antivirus|detection|police))\b/i },
  { id: 'encoded_instruction', weight: 2.5, pattern: /\b(?:decode|decrypt|translate|unscramble|reverse|convert)\s+(?:it|this|that|the (?:following|text|message|string))\b[^.\n]{0,40}\b(?:follow|obey|execute|do what it says|carry out|act on|and do it)\b|\bspell(?:ed)? (?:every|each) (?:word|letter) backwards\b/i },
  { id: 'imperative_you', weight: 0.6, pattern: /\byou (?:must|will|shall|have to|need to|are required to)\b/i },
  { id: 'instruction_word', weight: 0.5, pattern: /\b(?:instructions?|directives?|guardrails?|restrictions?)\b/i },
  { id: 'urgency', weight: 0.6, pattern: /\b(?:immediately|urgent(?:ly)?|important!|critical!|attention!|warning!|IMPORTANT|URGENT|ATTENTION)\b/ },
];

export interface InjectionFinding {
  score: number;
  /** Ids of the signals that fired, strongest first. */
  signals: string[];
}

const DECODED_PAYLOAD: Signal = { id: 'decoded_payload', weight: 3.5, pattern: /$^/ };

/** Signals that, found in a decoded form of the text, mean an instruction was smuggled in. */
const PAYLOAD_SIGNALS = new Set(['override', 'override_loose', 'new_instructions', 'prompt_leak', 'persona', 'jailbreak_terms', 'no_limits', 'system_prompt_term']);
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i' };

const rot13 = (t: string) => t.replace(/[a-z]/gi, (c) => String.fromCharCode(((c.charCodeAt(0) & 31) + 12) % 26 + (c.charCodeAt(0) & 96) + 1));

/** Readings of the text an attacker may have encoded: rot13, leetspeak, base64 blobs. */
function decodedForms(text: string): string[] {
  const forms = [rot13(text)];
  if (/[a-z][0-9@$!][a-z]|[0-9@$][a-z]{2}/i.test(text)) forms.push(text.replace(/[013457@$!]/g, (c) => LEET[c] ?? c));
  for (const m of text.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)) {
    if (forms.length > 6) break;
    const decoded = Buffer.from(m[0], 'base64').toString('utf8');
    // Only text that decodes to mostly printable words counts as a payload.
    if (/^[\x20-\x7e\s]{8,}$/.test(decoded) && /[a-z]{3,} [a-z]{2,}/i.test(decoded)) forms.push(decoded);
  }
  return forms;
}

export function scoreInjection(text: string): InjectionFinding {
  // Attacks hide in long documents; scanning the first and last 20k characters bounds the cost.
  const sample = text.length > 40_000 ? `${text.slice(0, 20_000)}\n${text.slice(-20_000)}` : text;
  const fired = SIGNALS.filter((s) => s.pattern.test(sample));
  const head = sample.length > 4_000 ? sample.slice(0, 4_000) : sample;
  const smuggled = decodedForms(head).some((form) => SIGNALS.some((s) => PAYLOAD_SIGNALS.has(s.id) && !fired.includes(s) && s.pattern.test(form)));
  if (smuggled) fired.push(DECODED_PAYLOAD);
  const sum = fired.reduce((acc, s) => acc + s.weight, 0);
  return { score: 1 - Math.exp(-sum / 3), signals: [...fired].sort((a, b) => b.weight - a.weight).map((s) => s.id) };
}
