// NOT PART OF THE SEED: added for tests/bench, required from the one marked line at the end of
// app.js. It serves `/echo` (every message sent back as it came, text or binary), the load
// `loadgen echo` measures, and leaves the seed's own WebSocket server (socket.js, `{ server }`,
// every other path) untouched.
//
// The seed's `new WebSocket.Server({ server })` answers the upgrade of *every* path, so a second
// `'upgrade'` listener would have both servers answer `/echo`. Instead the server's `emit` is
// wrapped: an upgrade to `/echo` is handed to the echo server and never reaches the seed's
// listeners; every other event goes through unchanged.
const WebSocket = require('ws');

module.exports = (server) => {
    const echo = new WebSocket.Server({ noServer: true });
    echo.on('connection', (ws) => {
        ws.on('message', (message) => {
            ws.send(message);
        });
        ws.on('error', (error) => {
            console.error(error);
        });
    });
    const emit = server.emit;
    server.emit = function emitExceptEcho(event, req, socket, head) {
        if (event === 'upgrade' && new URL(req.url, 'http://localhost').pathname === '/echo') {
            echo.handleUpgrade(req, socket, head, (ws) => {
                echo.emit('connection', ws, req);
            });
            return true;
        }
        return emit.apply(this, arguments);
    };
};
