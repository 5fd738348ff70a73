/**
 * `npm start`: the reference example end to end on loopback. A MessageService server and one client
 * in this process; the server says "Hello, world!" every 200 ms while the client sends its name
 * every 150 ms; after 5 responses the client half-closes, the server ends the call, and both stop.
 */
import { runClient } from "./client.js";
import { startServer } from "./server.js";

const server = await startServer({ port: 0, intervalMs: 200 });
try {
  const responses = await runClient({
    target: `127.0.0.1:${server.port}`,
    name: "Ada",
    count: 5,
    intervalMs: 150,
  });
  console.log(`main: the client received ${responses.length} responses`);
} finally {
  await server.shutdown(2000);
  console.log("main: server stopped");
}
