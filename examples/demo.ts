/**
 * A small tour of the channel core: a bounded channel, two producers and one consumer.
 * Run: `npm run example:demo` (or `npx tsx examples/demo.ts`). `npm start` runs the gRPC example.
 */
import { channel, SendError } from "grpc-mpsc";

const [tx, rx] = channel<string>(2);
const tx2 = tx.clone();

async function produce(name: string, sender: typeof tx, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await sender.send(`${name} #${i}`); // waits while 2 messages are buffered: backpressure
  }
  sender.close(); // the receiver's loop ends when every handle is closed
}

const producers = Promise.all([produce("alpha", tx, 3), produce("beta", tx2, 3)]);
for await (const msg of rx) console.log("received", msg);
await producers;

// A closed receiver gives refused values back instead of dropping them.
const [tx3, rx3] = channel<string>(1);
rx3.close();
try {
  await tx3.send("late");
} catch (err) {
  if (err instanceof SendError) console.log("refused, value given back:", err.value);
}
