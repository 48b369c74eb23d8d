// Where the API lives. Deployed to S3, set this to the HttpApi URL (the ApiUrl output of the stack).
// Served by the local stack, the page and the API share an origin and this stays empty.
window.LOYALTY_API = window.LOYALTY_API || "";
