/**
 * Another process holding a prefetch journal (run with node and tsx's loader): opens the journal in
 * argv[2], appends the job of media id argv[3], prints "ready" and waits to be killed.
 */
import { openFileJournal } from '../../src/runtime/file-journal.js';

const [dir, id] = process.argv.slice(2);
const journal = await openFileJournal(dir!);
await journal.append([{ account: 'default', id: id! }]);
console.log('ready');
setInterval(() => {}, 60_000);
