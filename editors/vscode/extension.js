// VS Code entry point for .facs files.
//
// Highlighting comes from syntaxes/facs.tmLanguage.json and needs no code. This file
// only starts the language server, `facs lsp` over stdio, and only when a `facs`
// binary can be found (the `facs.server.path` setting, else PATH). Without one, or
// without the vscode-languageclient package (`npm install` in this folder), the
// extension stays a highlighting-only extension and says why in its output channel.

'use strict';

const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

let client;

/** The first executable `name` on PATH, or undefined. */
function findOnPath(name) {
  const extensions = process.platform === 'win32'
    ? (process.env.PATHEXT || '.EXE;.CMD;.BAT').split(';')
    : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch (_) {
        // Not here; keep looking.
      }
    }
  }
  return undefined;
}

async function activate(context) {
  const output = vscode.window.createOutputChannel('facs');
  context.subscriptions.push(output);

  const configured = vscode.workspace.getConfiguration('facs').get('server.path', '');
  const command = configured || findOnPath('facs');
  if (!command) {
    output.appendLine('facs was not found on PATH: syntax highlighting only, no language server.');
    return;
  }

  let languageclient;
  try {
    languageclient = require('vscode-languageclient/node');
  } catch (_) {
    output.appendLine(
      'vscode-languageclient is not installed (run `npm install` in the extension folder): '
        + 'syntax highlighting only, no language server.',
    );
    return;
  }

  const serverOptions = {
    command,
    args: ['lsp'],
    transport: languageclient.TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'facs' },
      { scheme: 'untitled', language: 'facs' },
    ],
    outputChannel: output,
    synchronize: {
      // Declarations are spread over every *.facs file of a definition directory.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.facs'),
    },
  };
  client = new languageclient.LanguageClient('facs', 'facs language server', serverOptions, clientOptions);
  try {
    await client.start();
    output.appendLine(`Started ${command} lsp.`);
  } catch (error) {
    output.appendLine(`Could not start ${command} lsp: ${error && error.message ? error.message : error}`);
    client = undefined;
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
