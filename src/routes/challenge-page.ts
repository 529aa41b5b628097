// GET/POST /challenge: the hosted challenge page (CHALLENGE_PAGE = "true"). Being built.
import { Hono } from 'hono';
import type { AppEnv } from '../env';

/** Routes of the hosted challenge page. */
export const challengePageRoutes = new Hono<AppEnv>();
