import { inject } from 'vitest'

// Each test worker of the PostgreSQL run opens its stores there (see postgres-suite.ts).
const url = inject('postgresUrl')
if (url) process.env.ZHIAN_TEST_POSTGRES = url
