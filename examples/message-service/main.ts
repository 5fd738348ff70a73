/**
 * The reference example end to end on loopback: a MessageService server and one client in this
 * process. The server says "Hello, world!" every 200 ms while the client sends its name every
 * 150 ms; after 5 responses the client cancels the call, the server's hello loop stops on its next
 * send, and the server shuts down. Exits 0.
 *
 * Run: `npm start` (or `npx tsx examples/message-service/main.ts`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseFlags, runCli } from "../cli.js";
import { runClient } from "./client.js";
import { startServer } from "./server.js";

runCli("main", "usage: main.ts (no flags)", async () => {
  parseFlags({}, process.argv.slice(2));
  const server = await startServer({ port: 0, intervalMs: 200 });
  try {
    const { responses } = await runClient({
      target: `127.0.0.1:${server.port}`,
      name: "Ada",
      count: 5,
      intervalMs: 150,
    });
    console.log(`main: the client received ${responses.length} responses`);
    // The server learns of the cancel from the wire: let its hello loop log its end first.
    for (let waited = 0; server.activeLoops > 0 && waited < 2000; waited += 10) await sleep(10);
  } finally {
    await server.shutdown(2000);
    console.log("main: server stopped");
  }
  return 0;
});
