// A server process for the outbox restart test: the COMPILED app (dist/, `npm run build`) on the
// database and alert settings in its environment. It raises one alert (a breaker opened), prints
// {"fired":true} and keeps delivering until it is killed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dist = (p) => import(path.join(root, 'dist', 'src', p));
const { createApp } = await dist('app.js');
const { loadConfig } = await dist('config.js');
const { createLogger } = await dist('logger.js');

const config = loadConfig(process.env);
const app = await createApp({ config, logger: createLogger({ level: 'warn', secrets: config.secrets }) });
app.services.events.emit('breaker.opened', { provider: 'google_gemini', model: 'gemini-2.5-flash', at: Date.now(), reason: 'child' });
await app.services.alerting.flush();
process.stdout.write(`${JSON.stringify({ fired: true })}\n`);
setInterval(() => {}, 1000); // stay alive until killed
