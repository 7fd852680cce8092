/** `npm start`: the API and the workers in one process, with the embedded defaults when nothing is configured. */
import { launch } from './runtime/launch.js';

void launch({ api: true, workers: true });
