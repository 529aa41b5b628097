// Worker entry point: the Hono app is the default export's fetch handler.
import { createApp } from './app';

export default createApp() satisfies ExportedHandler<Env>;
