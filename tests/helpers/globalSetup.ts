import fs from 'node:fs';
import { SERVER_BIN } from './paths.js';

/** End-to-end tests run the built server exactly as a client would; `npm test` builds first. */
export default function setup(): void {
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} is missing: run "npm run build" (npm test does it for you).`);
  }
}
