/** A syntactically real-looking Gemini key (AIzaSy + 33 chars) the redaction rules must catch. */
export const TEST_API_KEY = 'AIzaSyTESTKEY0123456789abcdefghijklmno';
